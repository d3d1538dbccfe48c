import { describe, expect, it } from 'vitest';
import { apiExamples } from './apiExamples.js';
import { toValidationIssues } from './errorContract.js';
import { InventoryRequest, RepositoryPath, TimeZoneName } from './inventoryContract.js';

const [job] = apiExamples.inventoryRequest.jobs;
if (job === undefined) throw new Error('the inventory example needs a job');

describe('InventoryRequest', () => {
  it('accepts an empty inventory before the first apply', () => {
    expect(InventoryRequest.parse({ revision: null, jobs: [], unmanaged: [] }).jobs).toEqual([]);
  });

  it('rejects a job listed twice, naming it', () => {
    const result = InventoryRequest.safeParse({
      ...apiExamples.inventoryRequest,
      jobs: [job, job],
    });
    expect(result.success).toBe(false);
    expect(toValidationIssues(result.error!)).toEqual([
      {
        path: 'jobs[1].name',
        message: expect.stringContaining('production/nightly-db-backup appears more than once'),
      },
    ]);
  });

  it('checks digests, policies, scheduler names and monitoring', () => {
    const bad = {
      ...job,
      commandDigest: 'md5:abc',
      concurrencyPolicy: 'forbid',
      scheduler: 'cron',
      monitoring: { graceSeconds: -1, maxRuntimeSeconds: 0, alertAfter: 0 },
    };
    const result = InventoryRequest.safeParse({ ...apiExamples.inventoryRequest, jobs: [bad] });
    expect(toValidationIssues(result.error!).map((issue) => issue.path)).toEqual([
      'jobs[0].commandDigest',
      'jobs[0].monitoring.graceSeconds',
      'jobs[0].monitoring.maxRuntimeSeconds',
      'jobs[0].monitoring.alertAfter',
      'jobs[0].concurrencyPolicy',
      'jobs[0].scheduler',
    ]);
  });

  it('accepts a job without a runtime limit', () => {
    const open = { ...job, monitoring: { ...job.monitoring, maxRuntimeSeconds: null } };
    expect(
      InventoryRequest.safeParse({ ...apiExamples.inventoryRequest, jobs: [open] }).success,
    ).toBe(true);
  });
});

describe('RepositoryPath', () => {
  it('accepts relative paths and rejects escapes', () => {
    expect(RepositoryPath.safeParse('production/backup.yaml').success).toBe(true);
    for (const path of [
      '/etc/passwd',
      '../x.yaml',
      'a/../b.yaml',
      'a//b.yaml',
      'a\\b.yaml',
      './a.yaml',
      '',
    ]) {
      expect(RepositoryPath.safeParse(path).success, path).toBe(false);
    }
  });
});

describe('TimeZoneName', () => {
  it('accepts IANA names and rejects free text', () => {
    for (const zone of ['UTC', 'America/New_York', 'Etc/GMT+5', 'America/Argentina/Buenos_Aires']) {
      expect(TimeZoneName.safeParse(zone).success, zone).toBe(true);
    }
    for (const zone of ['', 'New York', '/UTC', 'UTC/']) {
      expect(TimeZoneName.safeParse(zone).success, zone).toBe(false);
    }
  });
});
