import { writeFileSync } from 'node:fs';
import { openRunCheckInSink } from '../../src/run/runCheckInSink.js';
import { runAsWrapperProcess } from '../../src/run/runWrapperProcess.js';
import { FileCheckInSink } from './runFixtures.js';

/**
 * A wrapper process for the tests: the code path of `cronfleet-agent run` (runAsWrapperProcess:
 * signal handling, stderr) with a file-backed sink instead of the spool, which is built
 * separately. Started by runFixtures.spawnWrapper with one JSON argument.
 */

interface EntryArguments {
  stateDir: string;
  sinkFile: string;
  id: string;
  manual?: boolean;
  killGraceMs?: number;
  reportFile?: string;
  /** Record into the state directory's real spool instead of sinkFile. */
  spool?: boolean;
  /** The first attempt's run id (a run-now request's id). */
  runId?: string;
}

const args = JSON.parse(process.argv[2] ?? '{}') as EntryArguments;
const outcome = await runAsWrapperProcess({
  stateDir: args.stateDir,
  id: args.id,
  manual: args.manual ?? false,
  runId: args.runId,
  environment: process.env,
  sink:
    args.spool === true
      ? await openRunCheckInSink(args.stateDir)
      : new FileCheckInSink(args.sinkFile),
  killGraceMs: args.killGraceMs,
  stdout: process.stdout,
  stderr: process.stderr,
  passThrough: false,
});
if (outcome.kind === 'error') process.stderr.write(`error: ${outcome.message}\n`);
if (args.reportFile !== undefined) {
  writeFileSync(
    args.reportFile,
    JSON.stringify({ maxRssKb: process.resourceUsage().maxRSS, kind: outcome.kind }),
  );
}
process.exitCode = outcome.exitCode;
