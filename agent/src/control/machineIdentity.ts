import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { writeFileAtomically } from '../state/atomicFile.js';

/**
 * The host's machine id, read where each operating system keeps it, and hashed before it is
 * used. It tells the backend (and its operators) which host an agent runs on; it is not the
 * agent's identity: several agents (state directories) may share a host, and an agent is
 * re-enrolled only with its own token as proof (see agentEnrollment.ts). The raw id (which other
 * software uses as a stable host identifier) never leaves the machine.
 */

const execFileAsync = promisify(execFile);

/** Where the raw id came from, for the enrollment report (never the id itself). */
/** A machine-id file's path, `IOPlatformUUID`, `MachineGuid` or `state directory`. */
export type MachineIdSource = string;

export interface MachineId {
  /** The raw id: kept in memory only, hashed by {@link hashMachineId} before it is sent. */
  raw: string;
  source: MachineIdSource;
}

/**
 * The prefix hashed with the raw id, so that the hash cannot be matched against the same id
 * hashed by another product (a plain SHA-256 of /etc/machine-id is a common fingerprint).
 */
export const machineIdHashPrefix = 'cronfleet.dev/machine-id/v1:';

/** SHA-256 (hex) of the prefixed, trimmed, lowercased raw id: what enrollment sends. */
export function hashMachineId(raw: string): string {
  return createHash('sha256')
    .update(machineIdHashPrefix + raw.trim().toLowerCase())
    .digest('hex');
}

/** The IOPlatformUUID of `ioreg -rd1 -c IOPlatformExpertDevice` output, or undefined. */
export function parseIoregPlatformUuid(output: string): string | undefined {
  const match = /"IOPlatformUUID"\s*=\s*"([0-9A-Fa-f-]{8,64})"/.exec(output);
  return match?.[1];
}

/** The MachineGuid of `reg query HKLM\SOFTWARE\Microsoft\Cryptography /v MachineGuid` output. */
export function parseRegMachineGuid(output: string): string | undefined {
  const match = /^\s*MachineGuid\s+REG_SZ\s+([0-9A-Fa-f-]{8,64})\s*$/m.exec(output);
  return match?.[1];
}

/** A systemd/D-Bus machine id: 32 hex digits ("uninitialized" and empty files do not count). */
function parseMachineIdFile(text: string): string | undefined {
  const id = text.trim();
  return /^[0-9a-fA-F]{32}$/.test(id) ? id : undefined;
}

async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
}

async function runOptional(file: string, args: readonly string[]): Promise<string | undefined> {
  try {
    const { stdout } = await execFileAsync(file, [...args], {
      timeout: 10_000,
      windowsHide: true,
    });
    return stdout;
  } catch {
    return undefined;
  }
}

export interface ReadMachineIdOptions {
  /** Default: this process's platform. */
  platform?: NodeJS.Platform;
  /**
   * Where a fallback id is kept when the system has none (containers often lack
   * /etc/machine-id): the agent's identity then lives as long as its state directory.
   */
  stateDir: string;
  /** The files tried on Linux and other Unixes, in order; default the systemd and D-Bus ones. */
  machineIdFiles?: readonly string[];
}

const defaultMachineIdFiles = ['/etc/machine-id', '/var/lib/dbus/machine-id'] as const;

/**
 * The raw machine id: /etc/machine-id, then /var/lib/dbus/machine-id (Linux and other Unixes);
 * IOPlatformUUID from `ioreg` (macOS); MachineGuid from the registry (Windows, 64-bit view). When
 * none can be read, a random id created once in the state directory (`machine-id`).
 */
export async function readMachineId(options: ReadMachineIdOptions): Promise<MachineId> {
  const platform = options.platform ?? process.platform;
  if (platform === 'darwin') {
    const output = await runOptional('ioreg', ['-rd1', '-c', 'IOPlatformExpertDevice']);
    const uuid = output === undefined ? undefined : parseIoregPlatformUuid(output);
    if (uuid !== undefined) return { raw: uuid, source: 'IOPlatformUUID' };
  } else if (platform === 'win32') {
    const output = await runOptional('reg', [
      'query',
      'HKLM\\SOFTWARE\\Microsoft\\Cryptography',
      '/v',
      'MachineGuid',
      // A 32-bit Node on 64-bit Windows would otherwise read the WOW6432Node copy.
      '/reg:64',
    ]);
    const guid = output === undefined ? undefined : parseRegMachineGuid(output);
    if (guid !== undefined) return { raw: guid, source: 'MachineGuid' };
  } else {
    for (const file of options.machineIdFiles ?? defaultMachineIdFiles) {
      const text = await readOptional(file);
      const id = text === undefined ? undefined : parseMachineIdFile(text);
      if (id !== undefined) return { raw: id, source: file };
    }
  }
  return { raw: await stateDirectoryMachineId(options.stateDir), source: 'state directory' };
}

async function stateDirectoryMachineId(stateDir: string): Promise<string> {
  const file = path.join(stateDir, 'machine-id');
  const existing = await readOptional(file);
  const id = existing === undefined ? undefined : parseMachineIdFile(existing);
  if (id !== undefined) return id;
  const created = randomUUID().replaceAll('-', '');
  await writeFileAtomically(file, `${created}\n`, 0o600);
  return created;
}
