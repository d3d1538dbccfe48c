/**
 * Issue 5 §8, the sender: a spool of 100,000 check-ins (50,000 runs, start and finish) drained
 * into the real backend on real PostgreSQL, timed from the first claim to the empty spool. The
 * spool is filled beforehand (not timed) through `CheckInSpool.record`, so it has the on-disk
 * layout a long backend outage leaves behind: framed check-ins in 1 MiB segments.
 */
import { randomUUID } from 'node:crypto';
import { createCronfleetClient, type CheckIn } from '@cronfleet/core/api';
import { sql } from 'drizzle-orm';
import type { DatabaseHandle } from '../../backend/src/db/database.js';
import { CheckInSpool } from '../src/spool/checkInSpool.js';
import { SpoolSender, type DrainResult } from '../src/spool/spoolSender.js';

const revision = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';
export const DRAIN_NAMESPACE = 'bench-drain';

export interface FilledSpool {
  checkIns: number;
  bytes: number;
  segments: number;
  seconds: number;
}

/** Records `checkIns` check-ins (start, finish, start, …) of fresh runs over 20 jobs. */
export async function fillSpool(
  directory: string,
  checkIns: number,
  outputChars: number,
): Promise<FilledSpool> {
  const started = performance.now();
  const spool = new CheckInSpool({ directory, maxBytes: Number.MAX_SAFE_INTEGER });
  const base = Date.now() - 3_600_000;
  const output = 'x'.repeat(outputChars);
  let chunk: CheckIn[] = [];
  for (let index = 0; index < checkIns; index += 2) {
    const runId = randomUUID();
    const name = `job-${String((index / 2) % 20).padStart(2, '0')}`;
    const startedAt = new Date(base + index);
    chunk.push({
      kind: 'start',
      runId,
      namespace: DRAIN_NAMESPACE,
      name,
      attempt: 1,
      trigger: 'scheduled',
      scheduledAt: new Date(Math.floor(startedAt.getTime() / 60_000) * 60_000).toISOString(),
      startedAt: startedAt.toISOString(),
      revision,
    });
    if (index + 1 < checkIns) {
      chunk.push({
        kind: 'finish',
        runId,
        namespace: DRAIN_NAMESPACE,
        name,
        attempt: 1,
        status: index % 34 === 0 ? 'failed' : 'succeeded',
        finishedAt: new Date(startedAt.getTime() + 1500).toISOString(),
        durationMs: 1500,
        exitCode: index % 34 === 0 ? 1 : 0,
        signal: null,
        outputHead: output,
        outputTail: '',
        outputTruncated: false,
        revision,
      });
    }
    // Many records per call: the fill is not what is measured, the on-disk layout is the same.
    if (chunk.length >= 500) {
      await spool.record(chunk);
      chunk = [];
    }
  }
  if (chunk.length > 0) await spool.record(chunk);
  const usage = await spool.usage();
  return {
    checkIns,
    bytes: usage.bytes,
    segments: usage.segments,
    seconds: (performance.now() - started) / 1000,
  };
}

export interface SpoolDrainMeasurement {
  spool: FilledSpool;
  drain: DrainResult;
  seconds: number;
  checkInsPerSecond: number;
  /** CPU time of this (the agent's) process during the drain. */
  agentCpuSeconds: number;
  /** Peak resident set of this process during the drain, sampled every 20 ms. */
  agentPeakRssMiB: number;
  /** Its resident set just before (the fill and the database pool are in it too). */
  agentRssBeforeMiB: number;
  /** Runs in the table with both check-ins, after the drain. */
  storedRuns: number;
  /** Check-ins left in the spool after the drain (0 expected). */
  leftInSpool: number;
}

export interface SpoolDrainOptions {
  baseUrl: string;
  agentToken: string;
  /** A folder of its own for the spool (the caller removes it). */
  directory: string;
  checkIns: number;
  outputChars: number;
  /** Batches in flight (SpoolSender's `concurrency`); default the sender's. */
  concurrency?: number;
  /** The backend's database, to check that every run arrived. */
  database: DatabaseHandle;
  organizationId: string;
  say?: (line: string) => void;
}

export async function measureSpoolDrain(
  options: SpoolDrainOptions,
): Promise<SpoolDrainMeasurement> {
  const say = options.say ?? (() => {});
  const filled = await fillSpool(options.directory, options.checkIns, options.outputChars);
  say(
    `  spool filled: ${filled.checkIns.toLocaleString('en-US')} check-ins, ` +
      `${(filled.bytes / 1024 / 1024).toFixed(1)} MiB in ${filled.segments} segments, ` +
      `${filled.seconds.toFixed(1)} s (not measured)`,
  );
  const client = createCronfleetClient({
    baseUrl: options.baseUrl,
    token: options.agentToken,
    retries: 0,
    userAgent: 'cronfleet-agent-bench',
  });
  const sender = new SpoolSender({
    directory: options.directory,
    client,
    ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
  });
  const rssBefore = process.memoryUsage().rss;
  let peakRss = rssBefore;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 20);
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  let drain: DrainResult;
  try {
    drain = await sender.drainOnce();
  } finally {
    clearInterval(sampler);
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  const [row] = await options.database.rows<{ count: string }>(sql`
    select count(*)::text as count from runs
    where organization_id = ${options.organizationId}::uuid and namespace = ${DRAIN_NAMESPACE}
      and start_received and finish_received`);
  const left = await new CheckInSpool({ directory: options.directory }).pendingCheckIns();
  return {
    spool: filled,
    drain,
    seconds,
    checkInsPerSecond: drain.sent / seconds,
    agentCpuSeconds: (cpu.user + cpu.system) / 1e6,
    agentPeakRssMiB: peakRss / 1024 / 1024,
    agentRssBeforeMiB: rssBefore / 1024 / 1024,
    storedRuns: Number(row?.count ?? 0),
    leftInSpool: left.checkIns.length,
  };
}

/** What went wrong with a drain measurement (an error, not a missed target), if anything. */
export function spoolDrainProblems(measurement: SpoolDrainMeasurement): string[] {
  const problems: string[] = [];
  const { drain, spool } = measurement;
  if (drain.outcome !== 'empty') {
    problems.push(`the drain stopped early (${drain.outcome}): ${drain.error?.message ?? ''}`);
  }
  if (drain.sent !== spool.checkIns || drain.accepted !== spool.checkIns) {
    problems.push(
      `sent ${drain.sent}, accepted ${drain.accepted} of ${spool.checkIns} check-ins (duplicates ${drain.duplicates}, rejected ${drain.rejected})`,
    );
  }
  const runs = Math.floor(spool.checkIns / 2);
  if (measurement.storedRuns !== runs) {
    problems.push(`${measurement.storedRuns} complete runs in the table, expected ${runs}`);
  }
  if (measurement.leftInSpool !== 0) {
    problems.push(`${measurement.leftInSpool} check-ins left in the spool`);
  }
  return problems;
}
