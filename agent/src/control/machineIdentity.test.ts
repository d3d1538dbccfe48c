import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  hashMachineId,
  parseIoregPlatformUuid,
  parseRegMachineGuid,
  readMachineId,
} from './machineIdentity.js';

const ioregOutput = `+-o J316sAP  <class IOPlatformExpertDevice, id 0x100000235, registered, matched, active, busy 0 (1 ms), retain 38>
    {
      "IOPolledInterface" = "AppleARMWatchdogTimerHibernateHandler is not serializable"
      "IOPlatformSerialNumber" = "C02XXXXXXX"
      "IOPlatformUUID" = "9A3C3F2E-4B1D-5E6F-8A9B-0C1D2E3F4A5B"
      "model" = <"MacBookPro18,1">
    }
`;

const regOutput = `
HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Cryptography
    MachineGuid    REG_SZ    6f1c2a9e-8d4b-4f0e-9a61-2b7c5d8e9f10

`;

describe('machine identity', () => {
  it('reads IOPlatformUUID from ioreg and MachineGuid from reg query', () => {
    expect(parseIoregPlatformUuid(ioregOutput)).toBe('9A3C3F2E-4B1D-5E6F-8A9B-0C1D2E3F4A5B');
    expect(parseIoregPlatformUuid('"IOPlatformSerialNumber" = "C02"')).toBeUndefined();
    expect(parseRegMachineGuid(regOutput)).toBe('6f1c2a9e-8d4b-4f0e-9a61-2b7c5d8e9f10');
    expect(
      parseRegMachineGuid('ERROR: The system was unable to find the specified registry key'),
    ).toBeUndefined();
  });

  it('hashes the id with a Cronfleet prefix, so the raw id and its plain hash never leave', () => {
    const raw = '0123456789abcdef0123456789abcdef';
    const expected = createHash('sha256')
      .update(`cronfleet.dev/machine-id/v1:${raw}`)
      .digest('hex');
    expect(hashMachineId(raw)).toBe(expected);
    expect(hashMachineId(` ${raw.toUpperCase()}\n`)).toBe(expected);
    expect(hashMachineId(raw)).not.toBe(createHash('sha256').update(raw).digest('hex'));
  });

  it('reads /etc/machine-id on Linux', async () => {
    const text = await readFile('/etc/machine-id', 'utf8').catch(() => '');
    const stateDir = await mkdtemp(path.join(os.tmpdir(), 'cronfleet-machine-id-'));
    try {
      const id = await readMachineId({ platform: 'linux', stateDir });
      if (/^[0-9a-f]{32}$/.test(text.trim())) {
        expect(id).toEqual({ raw: text.trim(), source: '/etc/machine-id' });
      } else {
        expect(id.source).not.toBe('/etc/machine-id');
      }
    } finally {
      await rm(stateDir, { recursive: true, force: true });
    }
  });

  it('falls back to an id kept in the state directory when the system has none', async () => {
    const stateDir = await mkdtemp(path.join(os.tmpdir(), 'cronfleet-machine-id-'));
    try {
      const machineIdFiles = [path.join(stateDir, 'no-such-machine-id')];
      const first = await readMachineId({ platform: 'linux', stateDir, machineIdFiles });
      expect(first.source).toBe('state directory');
      expect(first.raw).toMatch(/^[0-9a-f]{32}$/);
      expect((await stat(path.join(stateDir, 'machine-id'))).mode & 0o777).toBe(0o600);
      expect(await readMachineId({ platform: 'linux', stateDir, machineIdFiles })).toEqual(first);
    } finally {
      await rm(stateDir, { recursive: true, force: true });
    }
  });
});
