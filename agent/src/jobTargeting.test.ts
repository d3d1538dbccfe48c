import { describe, expect, it } from 'vitest';
import { isTargeted, targetVerdict, type AgentIdentity } from './jobTargeting.js';

const dbServer: AgentIdentity = {
  hostname: 'db-1.internal',
  platform: 'linux',
  labels: { role: 'db', env: 'production' },
};

describe('job targeting', () => {
  it('targets every agent when a job has no targets', () => {
    expect(isTargeted(undefined, dbServer)).toBe(true);
    expect(isTargeted({}, dbServer)).toBe(true);
  });

  it('requires every listed label with its exact value', () => {
    expect(isTargeted({ labels: { role: 'db' } }, dbServer)).toBe(true);
    expect(isTargeted({ labels: { role: 'db', env: 'production' } }, dbServer)).toBe(true);
    expect(targetVerdict({ labels: { role: 'web' } }, dbServer)).toEqual({
      targeted: false,
      reason: 'label role=web required; the agent has role=db',
    });
    expect(targetVerdict({ labels: { zone: 'a' } }, dbServer)).toEqual({
      targeted: false,
      reason: 'label zone=a required; the agent has no label zone',
    });
  });

  it('matches hostnames case-insensitively, short names against FQDNs', () => {
    expect(isTargeted({ hostnames: ['db-1'] }, dbServer)).toBe(true);
    expect(isTargeted({ hostnames: ['DB-1.internal'] }, dbServer)).toBe(true);
    expect(isTargeted({ hostnames: ['db-1.other'] }, dbServer)).toBe(false);
    expect(isTargeted({ hostnames: ['db'] }, dbServer)).toBe(false);
    expect(isTargeted({ hostnames: ['web-1', 'db-1'] }, dbServer)).toBe(true);
  });

  it('matches platforms', () => {
    expect(isTargeted({ platforms: ['linux', 'darwin'] }, dbServer)).toBe(true);
    expect(targetVerdict({ platforms: ['windows'] }, dbServer)).toEqual({
      targeted: false,
      reason: 'platform linux is not one of windows',
    });
  });

  it('requires all given criteria at once', () => {
    expect(isTargeted({ labels: { role: 'db' }, platforms: ['windows'] }, dbServer)).toBe(false);
    expect(
      isTargeted({ labels: { role: 'db' }, hostnames: ['db-1'], platforms: ['linux'] }, dbServer),
    ).toBe(true);
  });
});
