import { describe, expect, it } from 'vitest';
import { apiExamples } from './apiExamples.js';
import { toValidationIssues } from './errorContract.js';
import { NotificationChannelName } from './fieldContract.js';
import {
  InventoryRequest,
  InventoryResponse,
  RepositoryPath,
  TimeZoneName,
} from './inventoryContract.js';

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

  it("parses an older agent's job, without routing, retries or labels, with the manifest's defaults", () => {
    const { labels: _labels, ...older } = job;
    const { graceSeconds, maxRuntimeSeconds, alertAfter } = job.monitoring;
    const parsed = InventoryRequest.parse({
      ...apiExamples.inventoryRequest,
      jobs: [{ ...older, monitoring: { graceSeconds, maxRuntimeSeconds, alertAfter } }],
    });
    expect(parsed.jobs[0]?.monitoring).toEqual({
      graceSeconds,
      maxRuntimeSeconds,
      alertAfter,
      recoverAfter: 1,
      realertEverySeconds: null,
      notify: [],
      retryLimit: 0,
    });
    expect(parsed.jobs[0]?.labels).toEqual({});
  });

  it('checks recovery, re-alerting, channels, retries and labels', () => {
    const bad = {
      ...job,
      monitoring: {
        ...job.monitoring,
        recoverAfter: 0,
        realertEverySeconds: 59,
        notify: ['ops', 'Ops_Pager', 'ops'],
        retryLimit: -1,
      },
      labels: { '-team': 'platform', tier: 'a b' },
    };
    const result = InventoryRequest.safeParse({ ...apiExamples.inventoryRequest, jobs: [bad] });
    expect(toValidationIssues(result.error!)).toEqual([
      { path: 'jobs[0].monitoring.recoverAfter', message: expect.any(String) },
      { path: 'jobs[0].monitoring.realertEverySeconds', message: 'must be at least 60 seconds' },
      {
        path: 'jobs[0].monitoring.notify[1]',
        message: expect.stringContaining('must be a notification channel name'),
      },
      { path: 'jobs[0].monitoring.notify', message: 'must list each channel once' },
      { path: 'jobs[0].monitoring.retryLimit', message: expect.any(String) },
      { path: 'jobs[0].labels.-team', message: expect.any(String) },
      { path: 'jobs[0].labels.tier', message: expect.stringContaining('must be a label value') },
    ]);
    const tooMany = { ...job.monitoring, notify: Array.from({ length: 21 }, (_, i) => `c${i}`) };
    expect(
      InventoryRequest.safeParse({
        ...apiExamples.inventoryRequest,
        jobs: [{ ...job, monitoring: tooMany }],
      }).success,
    ).toBe(false);
  });

  it('accepts a job without a runtime limit', () => {
    const open = { ...job, monitoring: { ...job.monitoring, maxRuntimeSeconds: null } };
    expect(
      InventoryRequest.safeParse({ ...apiExamples.inventoryRequest, jobs: [open] }).success,
    ).toBe(true);
  });
});

describe('InventoryResponse', () => {
  it("reads a backend's answer without warnings as none", () => {
    expect(InventoryResponse.parse({ jobCount: 2, unmanagedCount: 0 }).warnings).toEqual([]);
  });

  it('names the job of each warning and keeps its message on one line', () => {
    expect(InventoryResponse.safeParse(apiExamples.inventoryResponse).success).toBe(true);
    const result = InventoryResponse.safeParse({
      jobCount: 1,
      unmanagedCount: 0,
      warnings: [{ namespace: 'Prod', name: 'backup', message: 'line one\nline two' }],
    });
    expect(toValidationIssues(result.error!).map((issue) => issue.path)).toEqual([
      'warnings[0].namespace',
      'warnings[0].message',
    ]);
  });
});

describe('NotificationChannelName', () => {
  it("follows the manifest's rule: a DNS label", () => {
    for (const name of ['ops', 'dba-pager', 'a', '0', 'x'.repeat(63)]) {
      expect(NotificationChannelName.safeParse(name).success, name).toBe(true);
    }
    for (const name of ['', 'Ops', 'ops_pager', '-ops', 'ops-', 'ops pager', 'x'.repeat(64)]) {
      expect(NotificationChannelName.safeParse(name).success, name).toBe(false);
    }
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
