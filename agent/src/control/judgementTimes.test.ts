import { nextFireTime } from '@cronfleet/core/cron';
import { describe, expect, it } from 'vitest';
import { JudgementTimes, nextHeartbeatWait, type JudgedJob } from './judgementTimes.js';

const at = (iso: string) => new Date(iso);
const iso = (date: Date | undefined) => date?.toISOString();

function job(overrides: Partial<JudgedJob> & { schedule: string }): JudgedJob {
  return { id: 'ops/job', timezone: 'UTC', graceMs: 0, suspended: false, ...overrides };
}

/** The answer by brute force: every job's next instant, the smallest. */
function bruteForce(jobs: readonly JudgedJob[], after: Date): number | undefined {
  let best: number | undefined;
  for (const { schedule, timezone, graceMs, suspended } of jobs) {
    if (suspended || schedule === '@reboot') continue;
    const offset = graceMs + 1000;
    const fire = nextFireTime(schedule, { after: new Date(after.getTime() - offset), timezone });
    if (fire !== null && (best === undefined || fire.getTime() + offset < best)) {
      best = fire.getTime() + offset;
    }
  }
  return best;
}

describe('judgement instants', () => {
  it('is the fire time + grace + 1 s, strictly after the instant asked about (UTC)', () => {
    const times = new JudgementTimes([job({ schedule: '*/15 * * * *', graceMs: 600_000 })]);
    // The 12:00 fire is judged at 12:10:01, still ahead at 12:05.
    expect(iso(times.next(at('2024-05-01T12:05:00Z')))).toBe('2024-05-01T12:10:01.000Z');
    expect(iso(times.next(at('2024-05-01T12:10:00.999Z')))).toBe('2024-05-01T12:10:01.000Z');
    expect(iso(times.next(at('2024-05-01T12:10:01Z')))).toBe('2024-05-01T12:25:01.000Z');
    expect(iso(times.next(at('2024-05-01T13:00:00Z')))).toBe('2024-05-01T13:10:01.000Z');
    // Without grace: one second after the fire.
    const hourly = new JudgementTimes([job({ schedule: '@hourly' })]);
    expect(iso(hourly.next(at('2024-05-01T12:00:00.500Z')))).toBe('2024-05-01T12:00:01.000Z');
  });

  it("follows the job's zone across daylight-saving changes, as the backend expects fires", () => {
    // America/New_York springs forward at 02:00 on 10 March 2024: 02:30 does not exist, and a
    // fixed-time job runs once right after the gap (03:00 EDT = 07:00Z).
    const spring = new JudgementTimes([
      job({ schedule: '30 2 * * *', timezone: 'America/New_York', graceMs: 300_000 }),
    ]);
    expect(iso(spring.next(at('2024-03-10T00:00:00Z')))).toBe('2024-03-10T07:05:01.000Z');
    expect(iso(spring.next(at('2024-03-10T07:05:01Z')))).toBe('2024-03-11T06:35:01.000Z');
    // It falls back at 02:00 on 3 November: 01:30 comes twice, a fixed-time job runs once.
    const fall = new JudgementTimes([
      job({ schedule: '30 1 * * *', timezone: 'America/New_York', graceMs: 300_000 }),
    ]);
    expect(iso(fall.next(at('2024-11-03T00:00:00Z')))).toBe('2024-11-03T05:35:01.000Z');
    expect(iso(fall.next(at('2024-11-03T05:35:01Z')))).toBe('2024-11-04T06:35:01.000Z');
  });

  it('has none for suspended jobs, @reboot, or schedules and zones the evaluator refuses', () => {
    const times = new JudgementTimes([
      job({ id: 'ops/paused', schedule: '* * * * *', suspended: true }),
      job({ id: 'ops/boot', schedule: '@reboot' }),
      job({ id: 'ops/bad', schedule: '61 * * * *' }),
      job({ id: 'ops/nowhere', schedule: '* * * * *', timezone: 'Mars/Olympus' }),
    ]);
    expect(times.next(at('2024-05-01T12:00:00Z'))).toBeUndefined();
    expect(times.skipped.map((skipped) => skipped.id)).toEqual(['ops/bad']);
    expect(new JudgementTimes([]).next(at('2024-05-01T12:00:00Z'))).toBeUndefined();
  });

  it('answers again correctly when asked about an earlier instant (the clock went back)', () => {
    const times = new JudgementTimes([job({ schedule: '0 * * * *', graceMs: 60_000 })]);
    expect(iso(times.next(at('2024-05-01T15:30:00Z')))).toBe('2024-05-01T16:01:01.000Z');
    expect(iso(times.next(at('2024-05-01T12:30:00Z')))).toBe('2024-05-01T13:01:01.000Z');
  });

  it('matches a brute force over 10,000 jobs in several zones, step by step', () => {
    const zones = ['UTC', 'Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe'];
    const jobs: JudgedJob[] = [];
    for (let index = 0; index < 10_000; index += 1) {
      const minute = (index * 7) % 60;
      const schedule =
        index % 5 === 0
          ? `${minute} ${index % 24} * * *`
          : index % 5 === 1
            ? `*/${2 + (index % 13)} * * * *`
            : index % 5 === 2
              ? `${minute} * * * ${index % 7}`
              : index % 5 === 3
                ? '@reboot'
                : `${minute} */3 * * *`;
      jobs.push({
        id: `ns/job-${index}`,
        schedule,
        timezone: zones[index % zones.length]!,
        graceMs: ((index * 13) % 600) * 1000,
        suspended: index % 11 === 0,
      });
    }
    const times = new JudgementTimes(jobs);
    expect(times.size).toBe(
      jobs.filter((one) => !one.suspended && one.schedule !== '@reboot').length,
    );
    // Walk forward from one answer to the next over a few hours, crossing Lord Howe's half-hour
    // daylight-saving change (2024-10-06T02:00 local); check against brute force every 40 steps.
    let cursor = at('2024-10-05T14:00:00Z');
    for (let step = 0; step < 400; step += 1) {
      const next = times.next(cursor);
      expect(next).toBeDefined();
      expect(next!.getTime()).toBeGreaterThan(cursor.getTime());
      if (step % 40 === 0) expect(next!.getTime()).toBe(bruteForce(jobs, cursor));
      cursor = next!;
    }
    // Jumping ahead (the agent slept) gives the same as a fresh computation.
    const later = at('2024-10-07T09:17:42Z');
    expect(times.next(later)?.getTime()).toBe(bruteForce(jobs, later));
  });
});

describe('the wait before the next heartbeat', () => {
  const base = { nowMs: 100_000, sentAtMs: 100_000, intervalWaitMs: 30_000, minSpacingMs: 5_000 };

  it('is the interval when no judgement instant comes before it', () => {
    expect(nextHeartbeatWait({ ...base, judgementAtMs: undefined })).toEqual({
      waitMs: 30_000,
      forJudgement: false,
    });
    expect(nextHeartbeatWait({ ...base, judgementAtMs: 140_000 })).toEqual({
      waitMs: 30_000,
      forJudgement: false,
    });
  });

  it('reaches the judgement instant, a tie included', () => {
    expect(nextHeartbeatWait({ ...base, judgementAtMs: 111_000 })).toEqual({
      waitMs: 11_000,
      forJudgement: true,
    });
    expect(nextHeartbeatWait({ ...base, judgementAtMs: 130_000 })).toEqual({
      waitMs: 30_000,
      forJudgement: true,
    });
  });

  it('keeps the minimum spacing from the last heartbeat, counting the time it took', () => {
    expect(nextHeartbeatWait({ ...base, judgementAtMs: 101_000 })).toEqual({
      waitMs: 5_000,
      forJudgement: true,
    });
    // The heartbeat and the inventory took 2 s: 3 s are left of the spacing.
    expect(nextHeartbeatWait({ ...base, nowMs: 102_000, judgementAtMs: 101_000 })).toEqual({
      waitMs: 3_000,
      forJudgement: true,
    });
    // Spacing never lengthens a short interval (tests and demos override it).
    expect(nextHeartbeatWait({ ...base, intervalWaitMs: 40, judgementAtMs: 100_010 })).toEqual({
      waitMs: 40,
      forJudgement: false,
    });
  });
});
