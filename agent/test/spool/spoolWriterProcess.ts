/**
 * A run wrapper's stand-in for the spool tests: its own process that records check-ins in a loop
 * and prints `runId/kind` on stdout once each `record` resolved (i.e. once the spool said it is
 * durable). Killed with -9 by the crash test, run N at once by the concurrency test.
 *
 * Usage: node --conditions=@cronfleet/source --import tsx spoolWriterProcess.ts
 *          <spool dir> <prefix> <runs (0: forever)> <output bytes> [segment bytes]
 */
import { CheckInSpool } from '../../src/spool/checkInSpool.js';
import { finishCheckIn, runIdOf, startCheckIn } from './spoolCheckIns.js';

const [directory, prefixText, runsText, outputText, segmentText] = process.argv.slice(2);
if (directory === undefined || prefixText === undefined || runsText === undefined) {
  process.stderr.write('usage: spoolWriterProcess.ts <dir> <prefix> <runs> <output bytes>\n');
  process.exit(2);
}
const prefix = Number(prefixText);
const runs = Number(runsText);
const outputBytes = Number(outputText ?? '0');
const spool = new CheckInSpool({
  directory,
  ...(segmentText === undefined ? {} : { segmentBytes: Number(segmentText) }),
});
// A different letter per writer, so a record mixed from two writers could never pass as one.
const letter = String.fromCharCode(97 + (prefix % 26));

for (let n = 1; runs === 0 || n <= runs; n += 1) {
  const runId = runIdOf(n, prefix);
  await spool.record([startCheckIn(runId)]);
  process.stdout.write(`${runId}/start\n`);
  const output = letter.repeat(outputBytes);
  await spool.record([finishCheckIn(runId, { outputHead: output, outputTail: output })]);
  process.stdout.write(`${runId}/finish\n`);
}
