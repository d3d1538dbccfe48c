import { nextFireTimes } from '@cronfleet/core/cron';
import { describe, expect, it } from 'vitest';
import { judgeFires, type FireTiming, type ScheduledStart } from './fireJudgement.js';

const minute = 60_000;

/** What the agent's wrapper starts: every evaluator fire time, a few seconds late. */
function agentStarts(timing: FireTiming, from: Date, to: Date): ScheduledStart[] {
  const fires = nextFireTimes(timing.schedule, {
    after: from,
    count: 20_000,
    timezone: timing.timezone,
  }).filter((fire) => fire <= to);
  return fires.map((fire) => ({
    scheduledAt: fire,
    startedAt: new Date(fire.getTime() + 3_000),
  }));
}

/**
 * A worker ticking every `stepMs` from `from` to `to`, each tick judging what is due: the
 * verdicts of every tick, in order.
 */
function workerVerdicts(
  timing: FireTiming,
  starts: readonly ScheduledStart[],
  from: Date,
  to: Date,
  stepMs: number,
): { at: string; verdict: string }[] {
  const verdicts: { at: string; verdict: string }[] = [];
  let after = from;
  for (let now = from.getTime() + stepMs; now <= to.getTime(); now += stepMs) {
    for (;;) {
      const judged = judgeFires(timing, { after, through: new Date(now), limit: 50 }, starts);
      for (const fire of judged.fires) {
        verdicts.push({ at: fire.at.toISOString(), verdict: fire.verdict });
      }
      after = judged.judgedThrough;
      if (!judged.truncated) break;
    }
  }
  return verdicts;
}

/** Two days around each daylight-saving change of 2026. */
const transitions = [
  { zone: 'America/New_York', at: '2026-03-08T07:00:00Z' }, // 02:00 EST → 03:00 EDT
  { zone: 'America/New_York', at: '2026-11-01T06:00:00Z' }, // 02:00 EDT → 01:00 EST
  { zone: 'Europe/Berlin', at: '2026-03-29T01:00:00Z' }, // 02:00 CET → 03:00 CEST
  { zone: 'Europe/Berlin', at: '2026-10-25T01:00:00Z' }, // 03:00 CEST → 02:00 CET
  { zone: 'Australia/Lord_Howe', at: '2026-04-04T15:00:00Z' }, // 02:00 → 01:30 (half an hour)
  { zone: 'Australia/Lord_Howe', at: '2026-10-03T15:30:00Z' }, // 02:00 → 02:30
];

/** Fixed times inside the skipped and repeated hours, and wildcards across them. */
const schedules = [
  '30 2 * * *',
  '45 1 * * *',
  '15 2 * * *',
  '*/15 * * * *',
  '0 * * * *',
  '* * * * *',
];

describe('judgeFires across daylight-saving transitions', () => {
  for (const { zone, at } of transitions) {
    for (const schedule of schedules) {
      it(`${zone} around ${at}: "${schedule}" started every time is never missed`, () => {
        const timing: FireTiming = { schedule, timezone: zone, graceMs: 5 * minute };
        const center = Date.parse(at);
        const from = new Date(center - 36 * 60 * minute);
        const to = new Date(center + 36 * 60 * minute);
        const starts = agentStarts(timing, from, to);
        const verdicts = workerVerdicts(timing, starts, from, to, 7 * minute);
        expect(verdicts.filter((item) => item.verdict === 'missed')).toEqual([]);
        // Each fire time judged once: none twice, none skipped over.
        const judged = verdicts.map((item) => item.at);
        expect(new Set(judged).size).toBe(judged.length);
        const expected = starts
          .map((start) => start.scheduledAt!)
          .filter((fire) => fire.getTime() + timing.graceMs <= to.getTime() - 7 * minute + 1)
          .map((fire) => fire.toISOString());
        expect(judged.slice(0, expected.length)).toEqual(expected);
      });
    }
  }
});

describe('judgeFires', () => {
  const timing: FireTiming = {
    schedule: '0 3 * * *',
    timezone: 'Europe/Berlin',
    graceMs: 10 * minute,
  };
  const day = (date: string) => new Date(`${date}T01:00:00Z`); // 03:00 in Berlin in summer

  it('a fire without a start is missed once its grace has passed, not before', () => {
    const after = new Date('2026-06-01T00:00:00Z');
    const early = judgeFires(
      timing,
      { after, through: new Date('2026-06-01T01:09:59Z'), limit: 10 },
      [],
    );
    expect(early.fires).toEqual([]);
    const due = judgeFires(
      timing,
      { after, through: new Date('2026-06-01T01:10:00Z'), limit: 10 },
      [],
    );
    expect(due.fires).toEqual([{ at: day('2026-06-01'), verdict: 'missed' }]);
    expect(due.judgedThrough).toEqual(new Date('2026-06-01T01:00:00Z'));
  });

  it('counts a start that named no fire time when it began within the grace, once', () => {
    const starts: ScheduledStart[] = [
      { scheduledAt: null, startedAt: new Date('2026-06-01T01:04:00Z') },
      // Late: after the grace of 2 June.
      { scheduledAt: null, startedAt: new Date('2026-06-02T01:11:00Z') },
    ];
    const judged = judgeFires(
      timing,
      {
        after: new Date('2026-06-01T00:00:00Z'),
        through: new Date('2026-06-03T00:00:00Z'),
        limit: 10,
      },
      starts,
    );
    expect(judged.fires).toEqual([
      { at: day('2026-06-01'), verdict: 'started' },
      { at: day('2026-06-02'), verdict: 'missed' },
    ]);
  });

  it('a start named for another fire time does not count', () => {
    const judged = judgeFires(
      timing,
      {
        after: new Date('2026-06-01T00:00:00Z'),
        through: new Date('2026-06-02T00:00:00Z'),
        limit: 10,
      },
      [{ scheduledAt: day('2026-05-31'), startedAt: new Date('2026-06-01T01:01:00Z') }],
    );
    expect(judged.fires).toEqual([{ at: day('2026-06-01'), verdict: 'missed' }]);
  });

  it('judges at most `limit` fires per call, oldest first, and resumes after the last', () => {
    const everyMinute: FireTiming = { schedule: '* * * * *', timezone: 'UTC', graceMs: minute };
    const after = new Date('2026-06-01T00:00:00Z');
    const through = new Date('2026-06-01T00:10:00Z');
    const first = judgeFires(everyMinute, { after, through, limit: 4 }, []);
    expect(first.truncated).toBe(true);
    expect(first.fires.map((fire) => fire.at.toISOString().slice(11, 16))).toEqual([
      '00:01',
      '00:02',
      '00:03',
      '00:04',
    ]);
    const rest = judgeFires(everyMinute, { after: first.judgedThrough, through, limit: 50 }, []);
    expect(rest.truncated).toBe(false);
    expect(rest.fires.map((fire) => fire.at.toISOString().slice(11, 16))).toEqual([
      '00:05',
      '00:06',
      '00:07',
      '00:08',
      '00:09',
    ]);
  });
});
