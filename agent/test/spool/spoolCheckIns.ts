import type { CheckIn, CheckInFinish, CheckInStart } from '@cronfleet/core/api';

/** Check-ins for spool tests: valid under the API contract, with run ids derived from a number. */

export const testRevision = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';

/** A valid UUID (version 4, variant 8) that encodes `n`, so tests can name runs by number. */
export function runIdOf(n: number, prefix = 0): string {
  const high = prefix.toString(16).padStart(8, '0');
  return `${high}-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
}

export function startCheckIn(runId: string, overrides: Partial<CheckInStart> = {}): CheckInStart {
  return {
    kind: 'start',
    runId,
    namespace: 'spool',
    name: 'job',
    attempt: 1,
    trigger: 'scheduled',
    scheduledAt: '2024-05-01T02:00:00.000Z',
    startedAt: '2024-05-01T02:00:00.250Z',
    revision: testRevision,
    ...overrides,
  };
}

export function finishCheckIn(
  runId: string,
  overrides: Partial<CheckInFinish> = {},
): CheckInFinish {
  return {
    kind: 'finish',
    runId,
    namespace: 'spool',
    name: 'job',
    attempt: 1,
    status: 'succeeded',
    finishedAt: '2024-05-01T02:00:01.250Z',
    durationMs: 1000,
    exitCode: 0,
    signal: null,
    outputHead: `run ${runId} says hello\n`,
    outputTail: '',
    outputTruncated: false,
    revision: testRevision,
    ...overrides,
  };
}

/** `runs` runs as start and finish check-ins, in that order. */
export function runCheckIns(runs: number, prefix = 0): CheckIn[] {
  const checkIns: CheckIn[] = [];
  for (let n = 1; n <= runs; n += 1) {
    const runId = runIdOf(n, prefix);
    checkIns.push(startCheckIn(runId), finishCheckIn(runId));
  }
  return checkIns;
}

/** `runId/kind` of each check-in, sorted: what tests compare. */
export function checkInKeys(checkIns: readonly CheckIn[]): string[] {
  return checkIns.map((checkIn) => `${checkIn.runId}/${checkIn.kind}`).sort();
}
