/**
 * Benchmark of the reference cron evaluator: 100,000 nextFireTime computations over deterministic
 * (expression, zone, instant) triples. Target: under 1 s on a 2-core machine.
 */
import { performance } from 'node:perf_hooks';
import { Cron } from 'croner';

import { nextFireTime, parseCron } from '../src/cron/cron.js';

const OPERATIONS = 100_000;
const TARGET_MS = 1_000;

const EXPRESSIONS = [
  '* * * * *',
  '*/5 * * * *',
  '*/15 * * * *',
  '0 * * * *',
  '30 * * * *',
  '0 */2 * * *',
  '0 */6 * * *',
  '15 3 * * *',
  '0 2 * * *',
  '30 2 * * *',
  '0 0 * * *',
  '0 12 * * *',
  '45 23 * * *',
  '0 9 * * 1-5',
  '*/10 9-17 * * MON-FRI',
  '0 8-18/2 * * 1-5',
  '0,30 8-18 * * 1-5',
  '0 22 * * 1-5',
  '0 6 * * 6,0',
  '0 0 * * 0',
  '0 3 * * 7',
  '0 4 * * sun',
  '0 0 1 * *',
  '0 6 1,15 * *',
  '0 0 28 * *',
  '0 0 31 * *',
  '0 0 1 1 *',
  '0 0 1 */3 *',
  '0 0 1 jan,apr,jul,oct *',
  '0 0 */2 * 1',
  '0 0 1,15 * 5',
  '0 0 13 * 5',
  '0 0 1-7 * 1',
  '0 0 29 2 *',
  '5 4 * * sun',
  '0 1 * * 1',
  '*/30 1-3 * * *',
  '0,15,30,45 2 * * *',
  '5-59/10 * * * *',
  '*/7 * * * *',
  '0 9-17 * * *',
  '20 4 * * 2-6',
  '0 18 * dec *',
  '0 0 24 12 *',
  '@hourly',
  '@daily',
  '@weekly',
  '@monthly',
  '@yearly',
  '@midnight',
];

const ZONES = [
  'UTC',
  'America/New_York',
  'Europe/Berlin',
  'Australia/Lord_Howe',
  'Asia/Kolkata',
  'America/Los_Angeles',
  'Europe/London',
  'Asia/Tokyo',
  'America/Sao_Paulo',
  'Pacific/Auckland',
];

interface Triple {
  expression: string;
  timezone: string;
  after: Date;
}

/** Deterministic triples: a linear congruential generator over 2024-2030. */
function buildTriples(count: number): Triple[] {
  const start = Date.UTC(2024, 0, 1);
  const span = Date.UTC(2030, 0, 1) - start;
  let seed = 20_260_308;
  const random = (): number => {
    seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0;
    return seed / 4_294_967_296;
  };
  const triples: Triple[] = [];
  for (let i = 0; i < count; i += 1) {
    triples.push({
      expression: EXPRESSIONS[Math.floor(random() * EXPRESSIONS.length)] as string,
      timezone: ZONES[Math.floor(random() * ZONES.length)] as string,
      after: new Date(start + Math.floor(random() * span)),
    });
  }
  return triples;
}

/**
 * The baseline, measured in the same run: croner 11's nextRun over the same triples, with one
 * Cron object per (expression, zone) built before timing. (Its semantics differ from cronie's
 * for some expressions and DST cases, see cronSchedule.ts; this measures speed only.)
 */
function timeCronerNextRun(triples: readonly Triple[]): number {
  const crons = new Map<string, Cron>();
  const cronFor = (expression: string, timezone: string): Cron => {
    const key = `${expression}\n${timezone}`;
    let cron = crons.get(key);
    if (cron === undefined) {
      cron = new Cron(expression, { timezone, paused: true });
      crons.set(key, cron);
    }
    return cron;
  };
  for (const { expression, timezone } of triples) cronFor(expression, timezone);
  const started = performance.now();
  let checksum = 0;
  for (const { expression, timezone, after } of triples) {
    checksum += cronFor(expression, timezone).nextRun(after)?.getTime() ?? 0;
  }
  const milliseconds = performance.now() - started;
  if (checksum === 0) throw new Error('croner baseline computed nothing');
  return milliseconds;
}

export async function benchCronNextFire(): Promise<{
  name: string;
  operations: number;
  milliseconds: number;
  target: string;
  baseline: { name: string; milliseconds: number };
}> {
  for (const expression of EXPRESSIONS) parseCron(expression);
  const triples = buildTriples(OPERATIONS);
  // Warm up: JIT, parsed-schedule cache and the zones' offset tables for the years in use.
  let checksum = 0;
  for (const { expression, timezone, after } of triples) {
    checksum += nextFireTime(expression, { after, timezone })?.getTime() ?? 0;
  }
  const started = performance.now();
  let measured = 0;
  for (const { expression, timezone, after } of triples) {
    measured += nextFireTime(expression, { after, timezone })?.getTime() ?? 0;
  }
  const milliseconds = performance.now() - started;
  if (measured !== checksum) throw new Error('cron benchmark: results changed between runs');
  return {
    name: 'cron: nextFireTime over (expression, zone, instant) triples',
    operations: OPERATIONS,
    milliseconds: Math.round(milliseconds * 10) / 10,
    target: `< ${TARGET_MS} ms for ${OPERATIONS.toLocaleString('en-US')} operations`,
    baseline: { name: 'croner 11 nextRun, same triples', milliseconds: timeCronerNextRun(triples) },
  };
}
