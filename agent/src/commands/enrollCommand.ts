import { readFile } from 'node:fs/promises';
import { enrollAgent, EnrollmentError } from '../control/agentEnrollment.js';
import { writeJson, type CommandContext } from './commandContext.js';

/** The flags of `enroll` beyond the configuration's (`--backend`, `--state-dir`, `--label`…). */
export interface EnrollFlags {
  /** `--token TOKEN` (visible in the process list: prefer --enrollment-token-file or the environment). */
  token?: string | undefined;
  /** `--enrollment-token-file FILE`: a file holding the enrollment token. */
  tokenFile?: string | undefined;
  /** `--name NAME`: the agent's display name (default: the host name). */
  name?: string | undefined;
  /** `--force`: enroll again as the same agent, the stored agent token sent as proof. */
  force?: boolean | undefined;
  /** `--new`: enroll as a new agent although a token is stored. */
  new?: boolean | undefined;
}

/** The environment variable that may carry the enrollment token (containers, installers). */
export const enrollmentTokenVariable = 'CRONFLEET_ENROLLMENT_TOKEN';

type TokenSource = { token: string } | { error: string };

async function enrollmentToken(context: CommandContext, flags: EnrollFlags): Promise<TokenSource> {
  if (flags.token !== undefined && flags.tokenFile !== undefined) {
    return {
      error: 'give the enrollment token once: --token or --enrollment-token-file, not both',
    };
  }
  if (flags.token !== undefined) return { token: flags.token.trim() };
  if (flags.tokenFile !== undefined) {
    try {
      return { token: (await readFile(flags.tokenFile, 'utf8')).trim() };
    } catch (error) {
      return {
        error: `cannot read the enrollment token file ${flags.tokenFile}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
      };
    }
  }
  const fromEnvironment = context.io.environment[enrollmentTokenVariable];
  if (fromEnvironment !== undefined && fromEnvironment.trim() !== '') {
    return { token: fromEnvironment.trim() };
  }
  return {
    error: `no enrollment token: give --enrollment-token-file FILE, --token TOKEN or ${enrollmentTokenVariable}`,
  };
}

/**
 * `cronfleet-agent enroll --backend URL (--token TOKEN | --enrollment-token-file FILE) [--name NAME]
 * [--force | --new] [--json]`: exchanges an enrollment token for this agent's token, stored with
 * mode 0600 in the token file, and records the agent id in the state directory. Exit 0 enrolled;
 * 1 the backend refused (e.g. the agent was revoked) or could not be reached; 2 a usage error (no
 * backend, no or malformed token, already enrolled without --force or --new). Neither token is
 * ever printed or logged.
 */
export async function enrollCommand(
  context: CommandContext,
  flags: EnrollFlags = {},
): Promise<number> {
  const source = await enrollmentToken(context, flags);
  if ('error' in source) {
    context.io.stderr.write(`cronfleet-agent enroll: ${source.error}\n`);
    return 2;
  }
  let result;
  try {
    result = await enrollAgent({
      config: context.config,
      enrollmentToken: source.token,
      name: flags.name,
      force: flags.force,
      new: flags.new,
    });
  } catch (error) {
    if (error instanceof EnrollmentError) {
      context.io.stderr.write(`cronfleet-agent enroll: ${error.message}\n`);
      return error.kind === 'usage' ? 2 : 1;
    }
    throw error;
  }
  const reenrolled = result.outcome !== 'created';
  context.logger.info(
    { agentId: result.agentId, backend: result.backendUrl, outcome: result.outcome },
    'enrolled',
  );
  if (context.json) {
    writeJson(context, { ...result, reenrolled });
    return 0;
  }
  const forgotten =
    result.previousAgentId !== null && result.previousAgentId !== result.agentId
      ? ` The previous agent ${result.previousAgentId} stays at the backend (offline) until an operator revokes it.`
      : '';
  const what = {
    created: `Enrolled as a new agent ${result.agentId} (${result.name}) at ${result.backendUrl}.${forgotten}`,
    reenrolled: `Enrolled again as the same agent ${result.agentId} (${result.name}) at ${result.backendUrl}: its history and inventory are kept, and its previous token no longer works.`,
    replaced: `Enrolled as agent ${result.agentId} (${result.name}) at ${result.backendUrl}, replacing it as an operator asked: its history and inventory are kept, and its previous token no longer works.${forgotten}`,
  }[result.outcome];
  context.io.stdout.write(
    [
      what,
      `Agent token stored in ${result.tokenFile} (mode 0600); machine id from ${result.machineIdSource} (sent hashed).`,
      `Heartbeat every ${result.heartbeatIntervalSeconds} s once the daemon runs: cronfleet-agent sync`,
    ].join('\n') + '\n',
  );
  return 0;
}
