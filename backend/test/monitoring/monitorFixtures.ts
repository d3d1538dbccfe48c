import { apiExamples, type InventoryJob } from '@cronfleet/core/api';
import { defaultMonitorTiming, type MonitorTiming } from '../../src/monitoring/monitorWorker.js';

/** What the monitoring tests share: the worker's timing for passes minutes apart, and a job. */

/** The revision every test inventory and check-in names. */
export const testRevision = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';

/**
 * The tests pass every few minutes (production: every 5 s), so a gap counts as the backend being
 * down only past 45 minutes. The worker's other settings are its defaults.
 */
export const testMonitorTiming: MonitorTiming = { ...defaultMonitorTiming, outageMs: 45 * 60_000 };

/** A job instance as an agent reports it: every 5 minutes in UTC, grace 1 minute, no retries. */
export function monitoredJob(name: string, overrides: Partial<InventoryJob> = {}): InventoryJob {
  const [example] = apiExamples.inventoryRequest.jobs;
  return {
    ...example!,
    namespace: 'monitoring',
    name,
    schedule: '*/5 * * * *',
    timezone: 'UTC',
    suspended: false,
    monitoring: {
      graceSeconds: 60,
      maxRuntimeSeconds: null,
      alertAfter: 1,
      recoverAfter: 1,
      realertEverySeconds: null,
      notify: [],
      retryLimit: 0,
    },
    labels: {},
    ...overrides,
  };
}
