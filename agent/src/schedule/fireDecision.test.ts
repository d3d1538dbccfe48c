import { describe, expect, it } from 'vitest';
import type { NativeSchedule } from '../scheduler/schedulerBackend.js';
import { fireDecision } from './fireDecision.js';

const at = (iso: string): Date => new Date(iso);

describe('fireDecision', () => {
  const exact: NativeSchedule = { expression: '*/5 * * * *', timezone: 'UTC', exact: true };
  const exactJob = { schedule: '*/5 * * * *', timezone: 'UTC', native: exact };

  it('serves the most recent native fire, however late cron starts the wrapper', () => {
    expect(fireDecision(exactJob, at('2026-05-04T12:05:00.000Z'))).toEqual({
      fire: true,
      scheduledAt: at('2026-05-04T12:05:00.000Z'),
    });
    expect(fireDecision(exactJob, at('2026-05-04T12:09:59.999Z'))).toEqual({
      fire: true,
      scheduledAt: at('2026-05-04T12:05:00.000Z'),
    });
  });

  describe('a superset installed for 02:30 in New York on a UTC scheduler', () => {
    const native: NativeSchedule = { expression: '0,30 6,7 * * *', timezone: 'UTC', exact: false };
    const job = { schedule: '30 2 * * *', timezone: 'America/New_York', native };
    const fired = (iso: string): boolean => fireDecision(job, at(iso)).fire;

    it('fires only at the job’s instants, in winter and in summer', () => {
      expect(['06:00', '06:30', '07:00', '07:30'].map((t) => fired(`2026-01-15T${t}:04Z`))).toEqual(
        [false, false, false, true],
      );
      expect(['06:00', '06:30', '07:00', '07:30'].map((t) => fired(`2026-07-15T${t}:04Z`))).toEqual(
        [false, true, false, false],
      );
    });

    it('runs once right after the spring-forward gap, as cronie does', () => {
      // 8 March 2026: 02:00 EST jumps to 03:00 EDT (07:00 UTC); 02:30 does not exist.
      expect(['06:00', '06:30', '07:00', '07:30'].map((t) => fired(`2026-03-08T${t}:04Z`))).toEqual(
        [false, false, true, false],
      );
    });

    it('says why a native fire is skipped', () => {
      expect(fireDecision(job, at('2026-07-15T07:30:02Z'))).toEqual({
        fire: false,
        scheduledAt: at('2026-07-15T07:30:00Z'),
        reason:
          'native fire 2026-07-15T07:30:00.000Z ("0,30 6,7 * * *" in UTC) is not a fire time of ' +
          '"30 2 * * *" in America/New_York; the job\'s next fire time is 2026-07-16T06:30:00.000Z',
      });
    });
  });

  it('fires a fixed-time job once in a repeated hour, a wildcard job in both passes', () => {
    // 1 November 2026: 01:00-01:59 happens twice in New York (05:xx EDT, then 06:xx EST UTC).
    const native: NativeSchedule = { expression: '0,30 5,6 * * *', timezone: 'UTC', exact: false };
    const instants = ['05:00', '05:30', '06:00', '06:30'].map((t) => at(`2026-11-01T${t}:09Z`));
    const fixed = { schedule: '30 1 * * *', timezone: 'America/New_York', native };
    const wildcard = { schedule: '*/30 1 * * *', timezone: 'America/New_York', native };
    expect(instants.map((now) => fireDecision(fixed, now).fire)).toEqual([
      false,
      true,
      false,
      false,
    ]);
    expect(instants.map((now) => fireDecision(wildcard, now).fire)).toEqual([
      true,
      true,
      true,
      true,
    ]);
  });

  it('fires @reboot at once and refuses what cannot be served', () => {
    const reboot: NativeSchedule = { expression: '@reboot', timezone: 'UTC', exact: true };
    const now = at('2026-05-04T12:00:42.123Z');
    expect(fireDecision({ schedule: '@reboot', timezone: 'UTC', native: reboot }, now)).toEqual({
      fire: true,
      scheduledAt: now,
    });
    const never: NativeSchedule = { expression: '0 0 30 2 *', timezone: 'UTC', exact: false };
    expect(fireDecision({ schedule: '0 0 30 2 *', timezone: 'UTC', native: never }, now)).toEqual({
      fire: false,
      scheduledAt: at('2026-05-04T12:00:00Z'),
      reason:
        'no fire time of the native schedule "0 0 30 2 *" (UTC) at or before ' +
        '2026-05-04T12:00:42.123Z: not started by the scheduler',
    });
    const hourly: NativeSchedule = { expression: '0 * * * *', timezone: 'UTC', exact: false };
    expect(fireDecision({ schedule: '@reboot', timezone: 'UTC', native: hourly }, now)).toEqual({
      fire: false,
      scheduledAt: at('2026-05-04T12:00:00Z'),
      reason: '"@reboot" runs only when the scheduler starts, not at 2026-05-04T12:00:00.000Z',
    });
    expect(() => fireDecision(exactJob, new Date(Number.NaN))).toThrow(
      'now must be a valid Date; got Invalid Date',
    );
  });
});
