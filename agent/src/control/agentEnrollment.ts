import os from 'node:os';
import {
  AgentName,
  CronfleetApiError,
  CronfleetNetworkError,
  CronfleetRequestValidationError,
  createCronfleetClient,
  EnrollmentToken,
  type AgentFacts,
  type EnrollOutcome,
} from '@cronfleet/core/api';
import { agentPlatform } from '../agentRuntime.js';
import type { AgentConfig } from '../config/agentConfig.js';
import { AgentStateStore } from '../state/agentStateStore.js';
import { agentVersion } from './agentVersion.js';
import {
  agentTokenFile,
  readAgentToken,
  readEnrollmentRecord,
  writeAgentToken,
  writeEnrollmentRecord,
} from './enrollmentRecord.js';
import { hashMachineId, readMachineId, type MachineIdSource } from './machineIdentity.js';

/**
 * Enrollment: an enrollment token (`cfe_…`, given by an operator) is exchanged once for this
 * agent's own token (`cfa_…`), which authenticates every later call and is stored in the token
 * file. Neither token is ever logged or printed.
 *
 * Identity: each state directory is one agent. The machine id tells the backend which host an
 * agent runs on, never which agent it is, so a second agent on the same host (another state
 * directory) is a new agent. Re-enrolling the same state directory (`--force`) sends the stored
 * agent token as proof and keeps the agent; `--new` forgets it and enrolls a new agent.
 */

/** Why enrollment failed: `usage` (fix the command), `refused` (the backend said no), `unreachable`. */
export type EnrollmentFailure = 'usage' | 'refused' | 'unreachable';

export class EnrollmentError extends Error {
  override readonly name = 'EnrollmentError';
  constructor(
    readonly kind: EnrollmentFailure,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export interface EnrollAgentOptions {
  config: AgentConfig;
  /** The enrollment token; validated here, never echoed. */
  enrollmentToken: string;
  /** The agent's display name; default: the host name. */
  name?: string | undefined;
  /** Enroll again as the agent whose token is stored, sending that token as proof. */
  force?: boolean | undefined;
  /** Enroll as a new agent even though a token is stored (the stored identity is forgotten). */
  new?: boolean | undefined;
  /** Per-call timeout; default 30 s. */
  timeoutMs?: number;
}

export interface EnrollmentResult {
  agentId: string;
  name: string;
  backendUrl: string;
  tokenFile: string;
  heartbeatIntervalSeconds: number;
  machineIdSource: MachineIdSource;
  /** The agent id this state directory was enrolled as before, if any. */
  previousAgentId: string | null;
  /** created: a new agent; reenrolled: the same agent, with proof; replaced: an operator's replace. */
  outcome: EnrollOutcome;
}

/** Trailing slashes and case of the scheme and host do not make another backend. */
function sameBackend(a: string, b: string): boolean {
  try {
    const strip = (url: string) => new URL(url).href.replace(/\/+$/, '');
    return strip(a) === strip(b);
  } catch {
    return a === b;
  }
}

/** The facts enrollment sends; the machine id is hashed first. */
export async function collectAgentFacts(
  config: AgentConfig,
  name: string | undefined,
): Promise<{ facts: AgentFacts; machineIdSource: MachineIdSource }> {
  const hostname = config.hostname ?? os.hostname();
  const displayName = name ?? hostname;
  if (!AgentName.safeParse(displayName).success) {
    throw new EnrollmentError(
      'usage',
      `the agent name ${JSON.stringify(displayName)}${name === undefined ? ' (the host name)' : ''} is not valid: use letters, digits, ".", "_" or "-", starting and ending with a letter or digit (give --name NAME)`,
    );
  }
  const machineId = await readMachineId({ stateDir: config.stateDir });
  return {
    facts: {
      name: displayName,
      hostname,
      machineId: hashMachineId(machineId.raw),
      platform: agentPlatform(),
      arch: process.arch,
      version: agentVersion(),
      labels: { ...config.labels },
    },
    machineIdSource: machineId.source,
  };
}

/**
 * Enrolls this agent at `config.backendUrl`: checks the token's form, refuses to touch a stored
 * agent token unless `force` (re-enroll as the same agent: the stored token goes along as proof,
 * and the backend keeps the agent's id, history and inventory) or `new` (enroll a new agent),
 * sends the facts, then writes the agent token (atomically, mode 0600) and `enrollment.json`.
 *
 * @throws EnrollmentError with the kind of failure and a message that says how to fix it.
 */
export async function enrollAgent(options: EnrollAgentOptions): Promise<EnrollmentResult> {
  const { config } = options;
  const backendUrl = config.backendUrl;
  if (backendUrl === undefined) {
    throw new EnrollmentError(
      'usage',
      'no backend to enroll with: give --backend URL (or CRONFLEET_BACKEND_URL, or backendUrl in the config file)',
    );
  }
  const tokenFile = agentTokenFile(config);
  if (!EnrollmentToken.safeParse(options.enrollmentToken).success) {
    throw new EnrollmentError(
      'usage',
      'the enrollment token is not valid: it must be "cfe_" followed by at least 22 URL-safe characters, as shown once when it was created (cronfleet enrollment-token create)',
    );
  }
  if (options.force === true && options.new === true) {
    throw new EnrollmentError(
      'usage',
      'give --force (enroll again as the same agent) or --new (enroll as a new agent), not both',
    );
  }
  const previous = await readEnrollmentRecord(config.stateDir);
  const stored = await readAgentToken(tokenFile);
  const owner =
    previous === undefined ? '' : ` of agent ${previous.agentId} at ${previous.backendUrl}`;
  if (stored.kind === 'valid' && options.force !== true && options.new !== true) {
    throw new EnrollmentError(
      'usage',
      `${tokenFile} already holds the agent token${owner}: this state directory is enrolled. To enroll it again as the same agent (keeping its id, history and inventory), add --force: the stored token is sent as proof. To enroll it as a new agent instead, add --new (the old agent stays at the backend until an operator revokes it). A second agent on this host needs its own state directory (--state-dir DIR)`,
    );
  }
  let currentAgentToken: string | undefined;
  if (stored.kind === 'valid' && options.force === true) {
    // The token proves the identity to the backend that issued it, and is sent nowhere else.
    if (previous !== undefined && !sameBackend(previous.backendUrl, backendUrl)) {
      throw new EnrollmentError(
        'usage',
        `the stored agent token${owner} belongs to another backend than ${backendUrl}, so --force cannot re-enroll it there; to enroll at ${backendUrl} as a new agent, give --new instead of --force`,
      );
    }
    currentAgentToken = stored.token;
  }

  const store = new AgentStateStore(config.stateDir);
  await store.ensureDirectory();
  const { facts, machineIdSource } = await collectAgentFacts(config, options.name);
  const client = createCronfleetClient({
    baseUrl: backendUrl,
    token: options.enrollmentToken,
    timeoutMs: options.timeoutMs ?? 30_000,
    userAgent: `cronfleet-agent/${facts.version}`,
  });
  let enrolled;
  try {
    enrolled = await client.enroll({
      ...facts,
      ...(currentAgentToken === undefined ? {} : { currentAgentToken }),
    });
  } catch (error) {
    if (error instanceof CronfleetApiError) {
      const kind: EnrollmentFailure = error.status >= 500 ? 'unreachable' : 'refused';
      throw new EnrollmentError(kind, `the backend refused the enrollment: ${error.message}`, {
        cause: error,
      });
    }
    if (error instanceof CronfleetNetworkError) {
      throw new EnrollmentError('unreachable', error.message, { cause: error });
    }
    if (error instanceof CronfleetRequestValidationError) {
      throw new EnrollmentError('usage', error.message, { cause: error });
    }
    throw error;
  }
  // The token first: an agent id without its token is useless, a token without the id still works.
  await writeAgentToken(tokenFile, enrolled.agentToken);
  await writeEnrollmentRecord(config.stateDir, {
    version: 1,
    agentId: enrolled.agentId,
    backendUrl: client.baseUrl,
    name: facts.name,
    enrolledAt: new Date().toISOString(),
  });
  return {
    agentId: enrolled.agentId,
    name: facts.name,
    backendUrl: client.baseUrl,
    tokenFile,
    heartbeatIntervalSeconds: enrolled.heartbeatIntervalSeconds,
    machineIdSource,
    previousAgentId: previous?.agentId ?? null,
    outcome: enrolled.outcome,
  };
}
