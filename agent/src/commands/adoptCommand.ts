import { cronDaemonTimeZone } from '../scheduler/cronDaemonTimeZone.js';
import { AdoptError, adoptCrontabLine } from '../discovery/adoptCrontabLine.js';
import { writeJson, type CommandContext } from './commandContext.js';

/** The flags of `adopt`. */
export interface AdoptFlags {
  /** `--namespace NS` (default "default"). */
  namespace?: string | undefined;
  /** `--name NAME` (default: derived from the command). */
  name?: string | undefined;
}

/**
 * `cronfleet-agent adopt "<crontab line>" [--namespace NS] [--name NAME] [--json]`: prints the
 * manifest equivalent to one line of a user's crontab (schedule, the cron daemon's time zone,
 * the command as cron runs it), ready to commit to the job repository. Exit 0 printed; 2 the
 * argument is not one crontab entry, or its command cannot be carried over as it is (a `%` that
 * cron would turn into standard input), with a message saying why and what to do.
 */
export async function adoptCommand(
  context: CommandContext,
  flags: AdoptFlags = {},
): Promise<number> {
  const [line, ...extra] = context.positionals;
  if (line === undefined || extra.length > 0) {
    context.io.stderr.write(
      `cronfleet-agent adopt: give one crontab line, in quotes so the shell leaves "*" alone: cronfleet-agent adopt '0 2 * * * /opt/backup.sh'${extra.length > 0 ? ` (got ${context.positionals.length} arguments)` : ''}\n`,
    );
    return 2;
  }
  let adopted;
  try {
    adopted = adoptCrontabLine(line, {
      namespace: flags.namespace,
      name: flags.name,
      timezone: cronDaemonTimeZone(),
    });
  } catch (error) {
    if (error instanceof AdoptError) {
      context.io.stderr.write(`cronfleet-agent adopt: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  if (context.json) {
    writeJson(context, {
      namespace: adopted.namespace,
      name: adopted.name,
      schedule: adopted.schedule,
      timezone: adopted.timezone,
      command: adopted.command,
      manifest: adopted.yaml,
    });
  } else {
    context.io.stdout.write(adopted.yaml);
  }
  return 0;
}
