import { z } from 'zod';
import {
  IsoDateTime,
  JobName,
  Labels,
  LabelSelector,
  Namespace,
  Revision,
  SemVer,
  Sha256Hex,
  singleLineText,
  Uuid,
} from './fieldContract.js';
import { Cursor, PageLimit, paginatedResponse } from './paginationContract.js';

/** Agent enrollment, heartbeat and the agents list. */

/**
 * Tokens are prefixed by kind so that a leaked token is recognisable and a misplaced one is
 * caught: enrollment and agent tokens (agents), personal API tokens and session tokens (users).
 */
export const tokenPrefixes = {
  enrollment: 'cfe_',
  agent: 'cfa_',
  personal: 'cfp_',
  session: 'cfs_',
} as const;

const tokenBody = /^[A-Za-z0-9_-]{22,256}$/;

/** An enrollment token (`cfe_…`): lets a new agent enroll once. */
export const EnrollmentToken = z
  .string()
  .refine((token) => token.startsWith('cfe_') && tokenBody.test(token.slice(4)), {
    error: 'must be an enrollment token: "cfe_" followed by at least 22 URL-safe characters',
  });
export type EnrollmentToken = z.infer<typeof EnrollmentToken>;

/** An agent token (`cfa_…`): authenticates every call of one enrolled agent. */
export const AgentToken = z
  .string()
  .refine((token) => token.startsWith('cfa_') && tokenBody.test(token.slice(4)), {
    error: 'must be an agent token: "cfa_" followed by at least 22 URL-safe characters',
  });
export type AgentToken = z.infer<typeof AgentToken>;

export const AgentPlatform = z.enum(['linux', 'darwin', 'windows']);
export type AgentPlatform = z.infer<typeof AgentPlatform>;

/** A CPU architecture as Node names it (`process.arch`): x64, arm64, arm, ia32, riscv64, s390x… */
export const AgentArch = z
  .string()
  .regex(/^[a-z0-9_]{1,32}$/, 'must be a CPU architecture as Node names it, e.g. x64 or arm64');
export type AgentArch = z.infer<typeof AgentArch>;

/** An agent's display name, e.g. `db-1` or `db-1.eu-west.internal`. */
export const AgentName = z
  .string()
  .max(253, 'must be at most 253 characters')
  .regex(
    /^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/,
    'must be letters, digits, ".", "_" or "-", starting and ending with a letter or digit',
  );
export type AgentName = z.infer<typeof AgentName>;

/** How often the agent should send a heartbeat, in seconds. */
export const HeartbeatIntervalSeconds = z.number().int().min(5).max(3600);

/** The facts an agent reports about itself when it enrolls. */
export const AgentFacts = z.object({
  name: AgentName,
  hostname: singleLineText(253),
  /** SHA-256 of the machine id (never the raw id). */
  machineId: Sha256Hex,
  platform: AgentPlatform,
  arch: AgentArch,
  version: SemVer,
  labels: Labels,
});
export type AgentFacts = z.infer<typeof AgentFacts>;

/**
 * `POST /api/v1/agents/enroll`, authenticated by an enrollment token. Without
 * `currentAgentToken` (and with an enrollment token that replaces no agent) it always creates a
 * new agent: the machine id identifies a host, not an agent, so a second agent on the same host
 * (another state directory) never takes over the first.
 */
export const EnrollRequest = AgentFacts.extend({
  /**
   * Proof for re-enrolling into an existing identity: the agent's current token (`cfa_…`), which
   * only that agent holds. The agent keeps its id, history and inventory and gets a new token;
   * the old one stops working. A revoked agent's token is refused (409): it stays revoked.
   */
  currentAgentToken: AgentToken.optional(),
});
export type EnrollRequest = z.infer<typeof EnrollRequest>;

/**
 * What an enrollment did to identities: `created` a new agent; `reenrolled` the agent whose
 * current token was sent as proof; `replaced` the agent that the enrollment token was issued to
 * replace (an operator's decision, see `replacesAgentId` of an enrollment token).
 */
export const EnrollOutcome = z.enum(['created', 'reenrolled', 'replaced']);
export type EnrollOutcome = z.infer<typeof EnrollOutcome>;

export const EnrollResponse = z.object({
  agentId: Uuid,
  /** Shown once: the agent stores it and sends it as its bearer token from now on. */
  agentToken: AgentToken,
  heartbeatIntervalSeconds: HeartbeatIntervalSeconds,
  outcome: EnrollOutcome,
});
export type EnrollResponse = z.infer<typeof EnrollResponse>;

export const ConditionType = z.enum(['Ready', 'Reconciling', 'Stalled']);
export type ConditionType = z.infer<typeof ConditionType>;

export const ConditionStatus = z.enum(['true', 'false', 'unknown']);
export type ConditionStatus = z.infer<typeof ConditionStatus>;

/** A Flux-style condition: `Ready` / `Reconciling` / `Stalled`, each true, false or unknown. */
export const Condition = z.object({
  type: ConditionType,
  status: ConditionStatus,
  /** A CamelCase reason, e.g. `ReconciliationSucceeded`, `ManifestInvalid`, `FetchFailed`. */
  reason: z
    .string()
    .max(128)
    .regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'must be a CamelCase reason, e.g. ManifestInvalid'),
  message: z.string().max(32_768),
  lastTransitionTime: IsoDateTime,
});
export type Condition = z.infer<typeof Condition>;

/** At most one condition per type. */
export const Conditions = z.array(Condition).superRefine((conditions, ctx) => {
  const seen = new Set<string>();
  conditions.forEach((condition, index) => {
    if (seen.has(condition.type)) {
      ctx.addIssue({
        code: 'custom',
        path: [index, 'type'],
        message: `condition type "${condition.type}" appears more than once; send one condition per type`,
      });
    }
    seen.add(condition.type);
  });
});
export type Conditions = z.infer<typeof Conditions>;

/** Why a repository URL carries credentials, or `null` when it carries none. */
export function findCredentialsInRepositoryUrl(url: string): string | null {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    // scp-like `git@host:org/repo.git` or a local path: a user name is not a secret.
    return /^[^@/]*:[^@/]*@/.test(url) ? 'it contains a password before "@"' : null;
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  if (parsed.password !== '') return 'it contains a password';
  const scheme = parsed.protocol.slice(0, -1).toLowerCase();
  if ((scheme === 'http' || scheme === 'https') && parsed.username !== '') {
    return 'it contains a user name, which for HTTP(S) is usually a token';
  }
  if (parsed.search !== '' || parsed.hash !== '') {
    return 'it contains a query string or fragment, which may carry a token';
  }
  return null;
}

/** A Git repository URL without credentials: https://, ssh://, git@host:path or file://. */
export const RepositoryUrl = z
  .string()
  .min(1)
  .max(2048)
  .regex(/^[^\p{Cc}\s]*$/u, 'must not contain whitespace or control characters')
  .superRefine((url, ctx) => {
    const problem = findCredentialsInRepositoryUrl(url);
    if (problem !== null) {
      ctx.addIssue({
        code: 'custom',
        message: `must not carry credentials (${problem}); give the agent its Git credentials through its credentials settings instead`,
      });
    }
  });
export type RepositoryUrl = z.infer<typeof RepositoryUrl>;

/** A Git branch name. */
export const BranchName = singleLineText(255).refine(
  (branch) =>
    !/[\s~^:?*[\\]/.test(branch) &&
    !branch.includes('..') &&
    !branch.startsWith('-') &&
    !branch.startsWith('/') &&
    !branch.endsWith('/') &&
    !branch.endsWith('.lock'),
  { error: 'must be a valid Git branch name, e.g. main or release/2024-05' },
);

export const RepositoryRef = z.object({
  url: RepositoryUrl,
  branch: BranchName,
});
export type RepositoryRef = z.infer<typeof RepositoryRef>;

/** A manifest error located as precisely as the agent could: file, line, column, job, key path. */
export const ManifestErrorReport = z.object({
  /** The file's path relative to the repository root, e.g. `production/backup.yaml`. */
  file: z.string().min(1).max(1024),
  line: z.number().int().min(1).nullable(),
  column: z.number().int().min(1).nullable(),
  /** The job as `namespace/name` when known (free text, since a broken manifest may not name one). */
  job: z.string().max(256).nullable(),
  /** The key path inside the manifest, e.g. `spec.schedule`. */
  path: z.string().max(1024).nullable(),
  message: z.string().min(1).max(8192),
});
export type ManifestErrorReport = z.infer<typeof ManifestErrorReport>;

/** `POST /api/v1/agents/heartbeat`, authenticated by the agent token. */
export const HeartbeatRequest = z.object({
  conditions: Conditions,
  /** The revision whose jobs are applied; null before the first successful apply. */
  lastAppliedRevision: Revision.nullable(),
  /** The last revision the agent tried to apply; null before the first attempt. */
  lastAttemptedRevision: Revision.nullable(),
  /** The repository and ref the agent follows; null while none is configured. */
  repository: RepositoryRef.nullable(),
  errors: z.array(ManifestErrorReport).max(1000),
  version: SemVer,
  /**
   * The run ids of every run this agent's wrappers are running now, complete. A `running` run of
   * this agent that a heartbeat no longer lists becomes `lost` (see docs/protocol.md). Absent when
   * the sender does not track its runs (older agents): nothing is judged from that heartbeat.
   */
  runningRunIds: z.array(Uuid).max(10_000).optional(),
  /**
   * false: this sender cannot carry out commands now (e.g. `sync --once`), so the backend hands
   * over none and leaves them queued for a heartbeat that can. Absent or true: it can.
   */
  acceptsCommands: z.boolean().optional(),
  /**
   * Every check-in this agent recorded before this instant (the agent's clock) has reached the
   * backend: its spool held nothing older that was not acknowledged or refused. Monitoring judges
   * a fire time only once this has passed it and its grace, so a run still spooled during an
   * outage is never taken for a missed one. Absent when not known (no drain has emptied the spool
   * yet, `sync --once`, older agents).
   */
  deliveredThrough: IsoDateTime.optional(),
});
export type HeartbeatRequest = z.infer<typeof HeartbeatRequest>;

/** Reconcile now, without waiting for the next poll. */
export const ReconcileCommand = z.object({ type: z.literal('reconcile') });
export type ReconcileCommand = z.infer<typeof ReconcileCommand>;

/** Run a job now (a manual run); `requestId` lets the dashboard find the run it asked for. */
export const RunCommand = z.object({
  type: z.literal('run'),
  namespace: Namespace,
  name: JobName,
  requestId: Uuid,
});
export type RunCommand = z.infer<typeof RunCommand>;

export const AgentCommand = z.discriminatedUnion('type', [ReconcileCommand, RunCommand]);
export type AgentCommand = z.infer<typeof AgentCommand>;

export const HeartbeatResponse = z.object({
  heartbeatIntervalSeconds: HeartbeatIntervalSeconds,
  commands: z.array(AgentCommand),
});
export type HeartbeatResponse = z.infer<typeof HeartbeatResponse>;

export const AgentStatus = z.enum(['online', 'offline', 'revoked']);
export type AgentStatus = z.infer<typeof AgentStatus>;

/** An agent as the agents list shows it. */
export const Agent = z.object({
  id: Uuid,
  name: AgentName,
  hostname: z.string(),
  platform: AgentPlatform,
  arch: AgentArch,
  version: SemVer,
  labels: Labels,
  status: AgentStatus,
  lastHeartbeatAt: IsoDateTime.nullable(),
  /**
   * Every check-in the agent recorded before this instant (its clock) has arrived; null until
   * its heartbeat reports one (HeartbeatRequest.deliveredThrough).
   */
  deliveredThrough: IsoDateTime.nullable(),
  conditions: z.array(Condition),
  lastAppliedRevision: Revision.nullable(),
  lastAttemptedRevision: Revision.nullable(),
  /** null until the agent's first heartbeat. */
  repository: RepositoryRef.nullable(),
  createdAt: IsoDateTime,
  /**
   * SHA-256 of the host's machine id: agents that share it run on the same host (several state
   * directories). It says which host an agent runs on, not which agent it is. Shown only to
   * callers with the write permission (operators and admins; an API token also needs the write
   * scope): absent for viewers.
   */
  machineId: Sha256Hex.optional(),
});
export type Agent = z.infer<typeof Agent>;

/** `GET /api/v1/agents` query; values arrive as strings, `label` may repeat (all must match). */
export const ListAgentsQuery = z.object({
  status: AgentStatus.optional(),
  label: z
    .union([LabelSelector, z.array(LabelSelector)])
    .transform((value) => (Array.isArray(value) ? value : [value]))
    .optional(),
  /** Text searched in the name and hostname. */
  q: z.string().min(1).max(200).optional(),
  limit: PageLimit,
  cursor: Cursor.optional(),
});
export type ListAgentsQuery = z.infer<typeof ListAgentsQuery>;

export const ListAgentsResponse = paginatedResponse(Agent);
export type ListAgentsResponse = z.infer<typeof ListAgentsResponse>;

/** `:agentId` of the agent administration routes. */
export const AgentPathParams = z.object({ agentId: Uuid });
export type AgentPathParams = z.infer<typeof AgentPathParams>;

/**
 * An agent as `GET /api/v1/agents/:agentId` shows it: the list's fields and everything else the
 * backend knows about it (errors of its last heartbeat, its job instance count, its revocation).
 */
export const AgentDetail = Agent.extend({
  heartbeatIntervalSeconds: HeartbeatIntervalSeconds,
  /** The located manifest errors of the last heartbeat. */
  errors: z.array(ManifestErrorReport),
  /** How many job instances the agent's last inventory holds. */
  jobInstanceCount: z.number().int().min(0),
  /** The enrollment token the agent (last) enrolled with; null once that token is deleted. */
  enrollmentTokenId: Uuid.nullable(),
  revokedAt: IsoDateTime.nullable(),
  revokedReason: z.string().nullable(),
  updatedAt: IsoDateTime,
});
export type AgentDetail = z.infer<typeof AgentDetail>;

/**
 * `PATCH /api/v1/agents/:agentId`: rename and/or relabel. `labels` replaces the whole label set
 * (send `{}` to remove every label).
 */
export const UpdateAgentRequest = z
  .object({
    name: AgentName.optional(),
    labels: Labels.optional(),
  })
  .refine((update) => update.name !== undefined || update.labels !== undefined, {
    error: 'send name, labels or both',
  });
export type UpdateAgentRequest = z.infer<typeof UpdateAgentRequest>;

/** `POST /api/v1/agents/:agentId/revoke`: the reason is what the agent's next call is told. */
export const RevokeAgentRequest = z.object({
  reason: singleLineText(500),
});
export type RevokeAgentRequest = z.infer<typeof RevokeAgentRequest>;

/** The longest an enrollment token may live: one year. */
export const MAX_ENROLLMENT_TOKEN_HOURS = 24 * 366;
/** The most agents one enrollment token may enroll. */
export const MAX_ENROLLMENT_TOKEN_USES = 100_000;

/** `POST /api/v1/enrollment-tokens`. Without `maxUses` or `expiresInHours` the token has no such limit. */
export const CreateEnrollmentTokenRequest = z
  .object({
    description: z
      .string()
      .max(200, 'must be at most 200 characters')
      .regex(/^[^\p{Cc}]*$/u, 'must be a single line without control characters')
      .default(''),
    /** Stamped on every agent enrolled with the token; they win over the agent's own labels. */
    labels: Labels.default({}),
    maxUses: z
      .number()
      .int('must be a whole number')
      .min(1, 'must be at least 1')
      .max(MAX_ENROLLMENT_TOKEN_USES, `must be at most ${MAX_ENROLLMENT_TOKEN_USES}`)
      .optional(),
    expiresInHours: z
      .number()
      .positive('must be more than 0')
      .max(MAX_ENROLLMENT_TOKEN_HOURS, `must be at most ${MAX_ENROLLMENT_TOKEN_HOURS} (a year)`)
      .optional(),
    /**
     * An operator's explicit replace: the token enrolls into this agent's identity (its id, history
     * and inventory; a new agent token; the old one stops working), for a host reinstalled with its
     * state directory lost. It may be used once (`maxUses` must be 1 or absent), and the agent must
     * not be revoked.
     */
    replacesAgentId: Uuid.optional(),
  })
  .refine((request) => request.replacesAgentId === undefined || (request.maxUses ?? 1) === 1, {
    path: ['maxUses'],
    error: 'a token that replaces an agent is used once: leave maxUses out or set it to 1',
  });
export type CreateEnrollmentTokenRequest = z.infer<typeof CreateEnrollmentTokenRequest>;

/** `active` may enroll; the others say why it no longer may. */
export const EnrollmentTokenStatus = z.enum(['active', 'expired', 'revoked', 'used_up']);
export type EnrollmentTokenStatus = z.infer<typeof EnrollmentTokenStatus>;

/** An enrollment token as lists show it: never the token itself, only its first characters. */
export const EnrollmentTokenSummary = z.object({
  id: Uuid,
  description: z.string(),
  /** `cfe_` and the first 6 characters, to recognise the token. */
  tokenPrefix: z.string(),
  labels: Labels,
  /** null: unlimited. */
  maxUses: z.number().int().min(1).nullable(),
  uses: z.number().int().min(0),
  expiresAt: IsoDateTime.nullable(),
  revokedAt: IsoDateTime.nullable(),
  status: EnrollmentTokenStatus,
  createdAt: IsoDateTime,
  /** The agent this token re-enrolls (an operator's replace); null for a token of new agents. */
  replacesAgentId: Uuid.nullable(),
});
export type EnrollmentTokenSummary = z.infer<typeof EnrollmentTokenSummary>;

/** The answer of `POST /api/v1/enrollment-tokens`: the only time the token is shown. */
export const CreateEnrollmentTokenResponse = EnrollmentTokenSummary.extend({
  token: EnrollmentToken,
});
export type CreateEnrollmentTokenResponse = z.infer<typeof CreateEnrollmentTokenResponse>;

export const EnrollmentTokenPathParams = z.object({ enrollmentTokenId: Uuid });
export type EnrollmentTokenPathParams = z.infer<typeof EnrollmentTokenPathParams>;

/** `GET /api/v1/enrollment-tokens`: newest first. */
export const ListEnrollmentTokensQuery = z.object({
  status: EnrollmentTokenStatus.optional(),
  limit: PageLimit,
  cursor: Cursor.optional(),
});
export type ListEnrollmentTokensQuery = z.infer<typeof ListEnrollmentTokensQuery>;

export const ListEnrollmentTokensResponse = paginatedResponse(EnrollmentTokenSummary);
export type ListEnrollmentTokensResponse = z.infer<typeof ListEnrollmentTokensResponse>;
