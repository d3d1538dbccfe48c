import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { translateSchedule } from '../schedule/nativeSchedule.js';
import { EMBEDDED_NATIVE_ZONE, EmbeddedBackend, cronerSchedule } from './embeddedBackend.js';
import type { JobTiming } from './embeddedBackend.js';
import { SchedulerError } from './schedulerBackend.js';
import type { NativeSchedule, ScheduledJob } from './schedulerBackend.js';

// croner schedules with setTimeout (at most 30 s ahead) and reads the clock with `new Date()`;
// vitest's fake timers replace both, so simulated hours run in milliseconds and stay exact.

function scheduledJob(
  id: string,
  schedule: NativeSchedule,
  options: { suspended?: boolean } = {},
): ScheduledJob {
  const [namespace = '', name = ''] = id.split('/');
  return { id, namespace, name, schedule, suspended: options.suspended ?? false, user: undefined };
}

const everyMinute: NativeSchedule = { expression: '* * * * *', timezone: 'UTC', exact: true };

interface Harness {
  backend: EmbeddedBackend;
  fires: string[];
  logs: Record<string, unknown>[];
  timings: Map<string, JobTiming>;
}

function harness(onFire?: (job: ScheduledJob, scheduledAt: Date) => Promise<void>): Harness {
  const fires: string[] = [];
  const logs: Record<string, unknown>[] = [];
  const timings = new Map<string, JobTiming>();
  const logStream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      logs.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      callback();
    },
  });
  const backend = new EmbeddedBackend({
    onFire: async (job, scheduledAt) => {
      fires.push(`${job.id} ${scheduledAt.toISOString()}`);
      await onFire?.(job, scheduledAt);
    },
    timingOf: (job) => timings.get(job.id),
    logger: pino({ level: 'debug' }, logStream),
  });
  return { backend, fires, logs, timings };
}

describe('EmbeddedBackend', () => {
  let active: EmbeddedBackend | undefined;

  beforeEach(() => {
    vi.useFakeTimers({ now: new Date('2026-03-28T23:58:30Z') });
  });
  afterEach(() => {
    active?.close();
    active = undefined;
    vi.useRealTimers();
  });

  it('fires an exact job at every native fire, with the fire instant as scheduledAt', async () => {
    const { backend, fires } = harness();
    active = backend;
    await backend.apply([scheduledJob('ops/tick', everyMinute)], new Set());
    await vi.advanceTimersByTimeAsync(3 * 60_000);
    expect(fires).toEqual([
      'ops/tick 2026-03-28T23:59:00.000Z',
      'ops/tick 2026-03-29T00:00:00.000Z',
      'ops/tick 2026-03-29T00:01:00.000Z',
    ]);
  });

  it('skips the superset fires that are not the job’s, before and after a DST change', async () => {
    // 09:00 in Berlin is 08:00 UTC in winter and 07:00 UTC from 29 March 2026 (CEST).
    const native = translateSchedule('0 9 * * *', 'Europe/Berlin', EMBEDDED_NATIVE_ZONE, {
      from: new Date('2026-03-28T00:00:00Z'),
    });
    expect(native).toEqual({ expression: '0 7,8 * * *', timezone: 'UTC', exact: false });
    const served: string[] = [];
    for (const day of ['2026-03-28', '2026-03-29']) {
      vi.setSystemTime(new Date(`${day}T06:58:30Z`));
      const { backend, fires, logs, timings } = harness();
      timings.set('ops/report', { schedule: '0 9 * * *', timezone: 'Europe/Berlin' });
      await backend.apply([scheduledJob('ops/report', native)], new Set());
      await vi.advanceTimersByTimeAsync(63 * 60_000);
      backend.close();
      served.push(...fires.map((fire) => `fired ${fire.slice(-24)}`));
      for (const line of logs.filter((entry) => entry.msg === 'embedded: native fire skipped')) {
        served.push(`skipped ${String(line.reason).slice(12, 36)}`);
      }
    }
    expect(served).toEqual([
      'fired 2026-03-28T08:00:00.000Z',
      'skipped 2026-03-28T07:00:00.000Z',
      'fired 2026-03-29T07:00:00.000Z',
      'skipped 2026-03-29T08:00:00.000Z',
    ]);
  });

  it('pauses a suspended job and resumes it without a new registration', async () => {
    const { backend, fires } = harness();
    active = backend;
    const suspended = scheduledJob('ops/tick', everyMinute, { suspended: true });
    expect(await backend.apply([suspended], new Set())).toEqual({ written: true });
    expect(await backend.observe()).toEqual(
      new Map([['ops/tick', 'embedded: * * * * * tz=UTC suspended']]),
    );
    await vi.advanceTimersByTimeAsync(3 * 60_000);
    expect(fires).toEqual([]);
    const timers = vi.getTimerCount();
    await backend.apply([scheduledJob('ops/tick', everyMinute)], new Set(['ops/tick']));
    expect(vi.getTimerCount()).toBe(timers);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(fires).toEqual(['ops/tick 2026-03-29T00:02:00.000Z']);
  });

  it('keeps unchanged jobs, replaces changed ones and removes the ones no longer desired', async () => {
    const { backend, fires } = harness();
    active = backend;
    const a = scheduledJob('ops/a', everyMinute);
    const b = scheduledJob('ops/b', { expression: '*/2 * * * *', timezone: 'UTC', exact: true });
    await backend.apply([a, b], new Set());
    await vi.advanceTimersByTimeAsync(60_000);
    expect(await backend.apply([a, b], new Set(['ops/a', 'ops/b']))).toEqual({ written: false });
    await vi.advanceTimersByTimeAsync(60_000);
    const c = scheduledJob('ops/c', { expression: '0 0 * * *', timezone: 'UTC', exact: true });
    const bEveryMinute = scheduledJob('ops/b', everyMinute);
    expect(await backend.apply([bEveryMinute, c], new Set(['ops/a', 'ops/b']))).toEqual({
      written: true,
    });
    expect(await backend.observe()).toEqual(
      new Map([
        ['ops/b', 'embedded: * * * * * tz=UTC'],
        ['ops/c', 'embedded: 0 0 * * * tz=UTC'],
      ]),
    );
    await vi.advanceTimersByTimeAsync(2 * 60_000);
    expect(fires).toEqual([
      'ops/a 2026-03-28T23:59:00.000Z',
      'ops/a 2026-03-29T00:00:00.000Z',
      'ops/b 2026-03-29T00:00:00.000Z',
      'ops/b 2026-03-29T00:01:00.000Z',
      'ops/b 2026-03-29T00:02:00.000Z',
    ]);
  });

  it('stop() clears every timer so the process can exit', async () => {
    const { backend, fires } = harness();
    await backend.apply(
      [scheduledJob('ops/a', everyMinute), scheduledJob('ops/b', everyMinute, { suspended: true })],
      new Set(),
    );
    expect(vi.getTimerCount()).toBe(2);
    backend.close();
    expect(vi.getTimerCount()).toBe(0);
    expect(await backend.observe()).toEqual(new Map());
    await vi.advanceTimersByTimeAsync(5 * 60_000);
    expect(fires).toEqual([]);
  });

  it('uninstall removes the owned registrations and nothing else', async () => {
    const { backend } = harness();
    active = backend;
    await backend.apply(
      [scheduledJob('ops/a', everyMinute), scheduledJob('ops/b', everyMinute)],
      new Set(),
    );
    expect(await backend.uninstall(new Set(['ops/a', 'ops/unknown']))).toEqual({ written: true });
    expect([...(await backend.observe()).keys()]).toEqual(['ops/b']);
    expect(await backend.uninstall(new Set(['ops/a']))).toEqual({ written: false });
    expect(vi.getTimerCount()).toBe(1);
  });

  it('starts an @reboot job once per process, when first installed unsuspended', async () => {
    const { backend, fires } = harness();
    active = backend;
    const reboot: NativeSchedule = { expression: '@reboot', timezone: 'UTC', exact: true };
    await backend.apply([scheduledJob('ops/boot', reboot, { suspended: true })], new Set());
    expect(fires).toEqual([]);
    await backend.apply([scheduledJob('ops/boot', reboot)], new Set());
    await backend.apply([scheduledJob('ops/boot', reboot)], new Set());
    await backend.apply([], new Set());
    await backend.apply([scheduledJob('ops/boot', reboot)], new Set());
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(fires).toEqual(['ops/boot 2026-03-28T23:58:30.000Z']);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('logs a failing run and keeps firing', async () => {
    const { backend, fires, logs } = harness(async () => {
      throw new Error('spawn failed');
    });
    active = backend;
    await backend.apply([scheduledJob('ops/tick', everyMinute)], new Set());
    await vi.advanceTimersByTimeAsync(2 * 60_000);
    await backend.whenIdle();
    expect(fires).toHaveLength(2);
    const failures = logs.filter((line) => line.msg === 'embedded: run failed to start');
    expect(failures.map((line) => (line.err as { message: string }).message)).toEqual([
      'spawn failed',
      'spawn failed',
    ]);
  });

  it('skips a superset fire when the job’s run spec is unknown', async () => {
    const { backend, fires, logs } = harness();
    active = backend;
    const superset: NativeSchedule = { expression: '* * * * *', timezone: 'UTC', exact: false };
    await backend.apply([scheduledJob('ops/orphan', superset)], new Set());
    await vi.advanceTimersByTimeAsync(60_000);
    expect(fires).toEqual([]);
    expect(logs.filter((line) => line.level === 50).map((line) => line.job)).toEqual([
      'ops/orphan',
    ]);
  });

  it('refuses a whole apply, changing nothing, for a non-UTC, invalid or duplicated job', async () => {
    const { backend } = harness();
    active = backend;
    await backend.apply([scheduledJob('ops/a', everyMinute)], new Set());
    const berlin = scheduledJob('ops/b', { ...everyMinute, timezone: 'Europe/Berlin' });
    const invalid = scheduledJob('ops/c', { ...everyMinute, expression: '0 0 * * * *' });
    for (const desired of [
      [berlin],
      [invalid],
      [everyMinute, everyMinute].map(() => scheduledJob('ops/d', everyMinute)),
    ]) {
      const failure = await backend
        .apply(desired, new Set(['ops/a']))
        .catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(SchedulerError);
      expect((failure as SchedulerError).kind).toBe('stalled');
    }
    await expect(backend.apply([berlin], new Set())).rejects.toThrow(
      "job ops/b: the embedded scheduler runs schedules in UTC, not Europe/Berlin; translate the job's schedule with translateSchedule(schedule, jobZone, 'UTC'); nothing was changed",
    );
    expect([...(await backend.observe()).keys()]).toEqual(['ops/a']);
  });

  it('renders a stable text per native schedule', () => {
    const { backend } = harness();
    const superset: NativeSchedule = { expression: '0 7,8 * * *', timezone: 'UTC', exact: false };
    expect(backend.render(scheduledJob('ops/a', superset, { suspended: true }))).toBe(
      'embedded: 0 7,8 * * * tz=UTC superset suspended',
    );
    expect(backend.render(scheduledJob('ops/a', everyMinute))).toBe('embedded: * * * * * tz=UTC');
  });
});

describe('cronerSchedule', () => {
  it('writes plain numeric fields and follows cronie’s day-of-month/day-of-week rule', () => {
    expect(cronerSchedule('*/15 9-17 * * MON-FRI')).toEqual({
      pattern: '0,15,30,45 9-17 * * 1-5',
      domAndDow: true,
    });
    // cronie: `*/2` starts with `*`, so odd days AND Mondays (croner alone would OR them).
    expect(cronerSchedule('0 0 */2 * 1')).toEqual({
      pattern: '0 0 1,3,5,7,9,11,13,15,17,19,21,23,25,27,29,31 * 1',
      domAndDow: true,
    });
    // Both restricted: ORed, and a full field stays a list so croner does not read it as `*`.
    expect(cronerSchedule('0 0 1-31 * 1')).toEqual({ pattern: '0 0 1-31 * 1', domAndDow: false });
    expect(cronerSchedule('@weekly')).toEqual({ pattern: '0 0 * * 0', domAndDow: true });
    expect(() => cronerSchedule('@reboot')).toThrow('"@reboot" has no fire times to give croner');
  });
});
