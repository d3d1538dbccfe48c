/**
 * The request bodies the benchmark sends, typed by the API contract in core: what a healthy
 * agent sends. Every check-in has a fresh run id, so each one is an insert, never a duplicate.
 */
import { randomUUID } from 'node:crypto';
import type { CheckInStart, HeartbeatRequest } from '@cronfleet/core/api';

const revision = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';

/** A `start` check-in of a scheduled run, in `namespace`, over 20 job names. */
export function startCheckIn(namespace: string, sequence: number, now: Date): CheckInStart {
  const scheduled = new Date(now);
  scheduled.setUTCSeconds(0, 0);
  return {
    kind: 'start',
    runId: randomUUID(),
    namespace,
    name: `job-${String(sequence % 20).padStart(2, '0')}`,
    attempt: 1,
    trigger: 'scheduled',
    scheduledAt: scheduled.toISOString(),
    startedAt: now.toISOString(),
    revision,
  };
}

/**
 * A check-in batch body of `size` start check-ins (fresh run ids, one start time per batch, as a
 * spool drained at once). Built from one serialised check-in with the run id and job name
 * swapped, so the load generator spends microseconds, not the server's CPU, per request.
 */
export function checkInBatchBody(namespace: string, size: number, sequence: number): string {
  const template = JSON.stringify(startCheckIn(namespace, 0, new Date()));
  const [before, after] = template.split(/"runId":"[^"]*"/) as [string, string];
  const items: string[] = [];
  for (let index = 0; index < size; index += 1) {
    const name = `job-${String((sequence * size + index) % 20).padStart(2, '0')}`;
    items.push(
      `${before}"runId":"${randomUUID()}"${after.replace('"name":"job-00"', `"name":"${name}"`)}`,
    );
  }
  return `{"checkIns":[${items.join(',')}]}`;
}

/** The heartbeat of an agent whose jobs are all applied. */
export function heartbeatBody(): string {
  const body: HeartbeatRequest = {
    conditions: [
      {
        type: 'Ready',
        status: 'true',
        reason: 'ReconciliationSucceeded',
        message: '12 jobs applied at 4b825dc',
        lastTransitionTime: '2024-05-01T02:00:03.120Z',
      },
      {
        type: 'Reconciling',
        status: 'false',
        reason: 'ReconciliationSucceeded',
        message: '',
        lastTransitionTime: '2024-05-01T02:00:03.120Z',
      },
      {
        type: 'Stalled',
        status: 'false',
        reason: 'ReconciliationSucceeded',
        message: '',
        lastTransitionTime: '2024-05-01T02:00:03.120Z',
      },
    ],
    lastAppliedRevision: revision,
    lastAttemptedRevision: revision,
    repository: { url: 'https://git.example.com/ops/cron-jobs.git', branch: 'main' },
    errors: [],
    version: '0.1.0',
  };
  return JSON.stringify(body);
}

/** Round-robin over the seeded agents' tokens: each request speaks for the next agent. */
export function agentTokenRotation(tokens: readonly string[]): () => string {
  if (tokens.length === 0) throw new Error('no agent tokens to rotate over');
  let next = 0;
  return () => {
    const token = tokens[next % tokens.length] as string;
    next += 1;
    return token;
  };
}
