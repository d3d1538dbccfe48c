import { parseArgs } from 'node:util';
import { openRunCheckInSink, type OpenCheckInSink } from './runCheckInSink.js';
import { runAsWrapperProcess } from './runWrapperProcess.js';

/**
 * `cronfleet-agent run` without the rest of the agent. cron starts the wrapper on every fire, so
 * its start-up is part of every job's latency: loading the full CLI (the configuration module with
 * YAML and zod, pino, simple-git, the API client) took most of a second on a busy machine, while
 * the wrapper itself needs node built-ins and the cron evaluator. The executable tries this first
 * for `run`; it handles exactly the lines the agent renders into schedulers,
 *
 *   run --state-dir DIR [--now] [--scheduled-at ISO] [--run-id UUID] NAMESPACE/NAME
 *
 * and answers undefined for anything else (no --state-dir, a --config file, --log-level…), which
 * then goes through main() and the configuration module as usual. Nothing of the configuration is
 * read here but the flags, so the two paths cannot disagree.
 */
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function runFastPath(
  argv: readonly string[],
  io: {
    stdout: NodeJS.WritableStream;
    stderr: NodeJS.WritableStream;
    environment: Readonly<Record<string, string | undefined>>;
  },
  openSink: OpenCheckInSink = openRunCheckInSink,
): Promise<number | undefined> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        'state-dir': { type: 'string' },
        now: { type: 'boolean' },
        'scheduled-at': { type: 'string' },
        'run-id': { type: 'string' },
        spec: { type: 'string' },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch {
    return undefined;
  }
  const { values, positionals } = parsed;
  const stateDir = values['state-dir'];
  const [command, id, ...extra] = positionals;
  if (command !== 'run' || id === undefined || extra.length > 0 || stateDir === undefined) {
    return undefined;
  }
  if (!stateDir.startsWith('/')) return undefined; // relative: let the configuration resolve it
  let scheduledAt: Date | undefined;
  const runId = values['run-id'];
  if (runId !== undefined && !uuid.test(runId)) return undefined;
  if (values['scheduled-at'] !== undefined) {
    scheduledAt = new Date(values['scheduled-at']);
    if (Number.isNaN(scheduledAt.getTime())) return undefined;
  }
  let outcome;
  try {
    outcome = await runAsWrapperProcess({
      stateDir,
      id,
      manual: values.now === true,
      scheduledAt,
      runId,
      specKey: values.spec,
      environment: io.environment,
      sink: await openSink(stateDir),
      stdout: io.stdout,
      stderr: io.stderr,
      passThrough: values.now === true,
    });
  } catch (error) {
    // Not expected (the wrapper turns what it meets into outcomes), but cron mails whatever
    // escapes here: one line, no stack.
    io.stderr.write(
      `cronfleet-agent run: ${id} could not run: ${(error as Error).message}. Run it by hand with --now to see more, and report this if it persists\n`,
    );
    return 2;
  }
  if (outcome.kind === 'error') io.stderr.write(`cronfleet-agent run: ${outcome.message}\n`);
  return outcome.exitCode;
}
