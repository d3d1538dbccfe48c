import { runAsWrapperProcess } from '../run/runWrapperProcess.js';
import { openRunCheckInSink, type OpenCheckInSink } from '../run/runCheckInSink.js';
import type { Command } from './commandContext.js';

/**
 * `cronfleet-agent run NAMESPACE/NAME [--now] [--scheduled-at ISO]`: what the scheduler starts.
 * Exits with the job's own exit code (the last attempt's; 128 + the signal when a signal ended
 * it); 0 for a start the skip rule or a suspension turned away, and for a run Forbid skipped; 2
 * when the job is not installed; 1 when its concurrency lock cannot be used. A manual run also
 * shows the job's output on the terminal. The executable usually runs the same wrapper through
 * run/runFastPath.ts instead, which skips loading the rest of the CLI; this is the path for
 * invocations that need the configuration module (a --config file, the default state dir).
 */

export function createRunCommand(openSink: OpenCheckInSink): Command {
  return async (context) => {
    const [id, ...extra] = context.positionals;
    if (id === undefined || extra.length > 0) {
      context.io.stderr.write('cronfleet-agent run: give exactly one job, as NAMESPACE/NAME\n');
      return 2;
    }
    let scheduledAt: Date | undefined;
    if (context.scheduledAt !== undefined) {
      scheduledAt = new Date(context.scheduledAt);
      if (Number.isNaN(scheduledAt.getTime())) {
        context.io.stderr.write(
          'cronfleet-agent run: --scheduled-at must be an ISO 8601 instant\n',
        );
        return 2;
      }
    }
    if (
      context.runId !== undefined &&
      !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(context.runId)
    ) {
      context.io.stderr.write('cronfleet-agent run: --run-id must be a UUID\n');
      return 2;
    }
    const outcome = await runAsWrapperProcess({
      stateDir: context.config.stateDir,
      id,
      manual: context.manual,
      scheduledAt,
      runId: context.runId,
      specKey: context.specKey,
      environment: context.io.environment,
      sink: await openSink(context.config.stateDir),
      stdout: context.io.stdout,
      stderr: context.io.stderr,
      passThrough: context.manual,
    });
    const log = context.logger.child({ job: id });
    if (outcome.kind === 'not-run' || outcome.kind === 'skipped') {
      log.info({ reason: outcome.reason }, 'not run');
    } else if (outcome.kind === 'error') {
      context.io.stderr.write(`cronfleet-agent run: ${outcome.message}\n`);
    } else {
      log.info(
        {
          attempts: outcome.attempts.map(
            ({ runId, attempt, status, exitCode, signal, durationMs }) => ({
              runId,
              attempt,
              status,
              exitCode,
              signal,
              durationMs,
            }),
          ),
          scheduledAt: outcome.scheduledAt?.toISOString() ?? null,
        },
        'run finished',
      );
    }
    return outcome.exitCode;
  };
}

export const runCommand: Command = createRunCommand(openRunCheckInSink);
