import os from 'node:os';
import {
  AgentName,
  CronfleetApiError,
  CronfleetNetworkError,
  CronfleetRequestValidationError,
  createCronfleetClient,
  EnrollmentToken,
  type AgentFacts,
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
  /** Replace an agent token that is already stored. */
  force?: boolean | undefined;
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
 * Enrolls this agent at `config.backendUrl`: checks the token's form, refuses to replace a
 * stored agent token unless `force`, sends the facts, then writes the agent token (atomically,
 * mode 0600) and `enrollment.json`. Re-enrolling the same machine in the same organization keeps
 * its agent id (the backend keys agents by machine id hash); the old token stops working.
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
  const previous = await readEnrollmentRecord(config.stateDir);
  const stored = await readAgentToken(tokenFile);
  if (stored.kind === 'valid' && options.force !== true) {
    const owner =
      previous === undefined ? '' : ` (agent ${previous.agentId} at ${previous.backendUrl})`;
    throw new EnrollmentError(
      'usage',
      `${tokenFile} already holds an agent token${owner}; this agent is enrolled. To enroll again (the same machine keeps its agent id within an organization), add --force`,
    );
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
    enrolled = await client.enroll(facts);
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
  };
}
