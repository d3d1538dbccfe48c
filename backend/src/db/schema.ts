/**
 * The backend's tables (drizzle). Every row that belongs to an organization carries
 * organization_id, and every query filters on it. Secrets are stored only as SHA-256 hashes
 * (tokens) or scrypt hashes (passwords). Job definitions are not stored: Git holds them; the
 * backend knows jobs through the job instances agents report.
 *
 * After a change: `npm run db:generate -w backend`, read the SQL, commit it with its journal.
 */
import { sql } from 'drizzle-orm';
import {
  bigint,
  type AnyPgColumn,
  boolean,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();
const timestampTz = (name: string) => timestamp(name, { withTimezone: true });

export const roleEnum = pgEnum('role', ['admin', 'operator', 'viewer']);
export const runTriggerEnum = pgEnum('run_trigger', ['scheduled', 'manual', 'retry']);
export const runStatusEnum = pgEnum('run_status', [
  'running',
  'succeeded',
  'failed',
  'timed_out',
  'skipped',
  'lost',
]);
export const actorTypeEnum = pgEnum('actor_type', ['user', 'api_token', 'agent', 'system']);
export const agentCommandTypeEnum = pgEnum('agent_command_type', ['reconcile', 'run']);
/**
 * A job instance's health as the monitoring worker last judged it (docs/monitoring.md). Silenced
 * is not stored: it is a problem state under an active silence, derived when read.
 */
export const jobHealthEnum = pgEnum('job_health', [
  'new',
  'up',
  'missed',
  'failing',
  'overrun',
  'suspended',
  'unknown',
]);
export const incidentKindEnum = pgEnum('incident_kind', [
  'missed',
  'failing',
  'overrun',
  'agent_offline',
]);
export const deliveryStatusEnum = pgEnum('delivery_status', ['pending', 'delivered', 'failed']);

export const organizations = pgTable('organizations', {
  id: uuid('id').primaryKey().defaultRandom(),
  name: text('name').notNull(),
  createdAt: createdAt(),
});

export const users = pgTable(
  'users',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    /** Stored lower-cased; unique across the installation. */
    email: text('email').notNull(),
    name: text('name').notNull().default(''),
    /** scrypt: `scrypt$N$r$p$salt$hash` (base64url). */
    passwordHash: text('password_hash').notNull(),
    /**
     * The installation's own admin: the user the first-run bootstrap created. With the default
     * CRONFLEET_ORGANIZATION_CREATORS=bootstrap-admin, only such users may create organizations.
     */
    installationAdmin: boolean('installation_admin').notNull().default(false),
    createdAt: createdAt(),
  },
  (table) => [uniqueIndex('users_email_key').on(table.email)],
);

export const memberships = pgTable(
  'memberships',
  {
    organizationId: uuid('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    role: roleEnum('role').notNull(),
    createdAt: createdAt(),
  },
  (table) => [
    primaryKey({ columns: [table.organizationId, table.userId] }),
    index('memberships_user_idx').on(table.userId),
  ],
);

export const sessions = pgTable(
  'sessions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tokenHash: text('token_hash').notNull(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    organizationId: uuid('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    createdAt: createdAt(),
    expiresAt: timestampTz('expires_at').notNull(),
    lastSeenAt: timestampTz('last_seen_at'),
    ip: text('ip'),
    userAgent: text('user_agent'),
  },
  (table) => [
    uniqueIndex('sessions_token_hash_key').on(table.tokenHash),
    index('sessions_user_idx').on(table.userId),
  ],
);

export const apiTokens = pgTable(
  'api_tokens',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    organizationId: uuid('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    tokenHash: text('token_hash').notNull(),
    /** The first characters of the token, shown in lists so a user can recognise it. */
    tokenPrefix: text('token_prefix').notNull(),
    /** Permissions granted: read, write, admin (intersected with the owner's role). */
    scopes: text('scopes').array().notNull(),
    expiresAt: timestampTz('expires_at'),
    lastUsedAt: timestampTz('last_used_at'),
    revokedAt: timestampTz('revoked_at'),
    /**
     * The API token that created this one (null: created with a session). A child never
     * outlives its parent: its expiry is at most the parent's, and revoking the parent revokes
     * its children (and theirs) in the same transaction.
     */
    parentTokenId: uuid('parent_token_id').references((): AnyPgColumn => apiTokens.id, {
      onDelete: 'cascade',
    }),
    createdAt: createdAt(),
  },
  (table) => [
    uniqueIndex('api_tokens_token_hash_key').on(table.tokenHash),
    index('api_tokens_org_user_idx').on(table.organizationId, table.userId),
    // The children of a token being revoked.
    index('api_tokens_parent_idx')
      .on(table.parentTokenId)
      .where(sql`${table.parentTokenId} is not null`),
  ],
);

export const enrollmentTokens = pgTable(
  'enrollment_tokens',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    organizationId: uuid('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    createdByUserId: uuid('created_by_user_id').references(() => users.id, {
      onDelete: 'set null',
    }),
    description: text('description').notNull().default(''),
    tokenHash: text('token_hash').notNull(),
    tokenPrefix: text('token_prefix').notNull(),
    /** Labels stamped on every agent enrolled with this token. */
    labels: jsonb('labels').$type<Record<string, string>>().notNull().default({}),
    /** null: unlimited. */
    maxUses: integer('max_uses'),
    uses: integer('uses').notNull().default(0),
    expiresAt: timestampTz('expires_at'),
    revokedAt: timestampTz('revoked_at'),
    /**
     * An operator's replace: this (single-use) token enrolls into that agent's identity instead
     * of creating an agent. null: a token of new agents.
     */
    replacesAgentId: uuid('replaces_agent_id').references((): AnyPgColumn => agents.id, {
      onDelete: 'cascade',
    }),
    createdAt: createdAt(),
  },
  (table) => [
    uniqueIndex('enrollment_tokens_token_hash_key').on(table.tokenHash),
    // Keyset pages, newest first (a backward scan).
    index('enrollment_tokens_org_created_idx').on(table.organizationId, table.createdAt, table.id),
  ],
);

export interface StoredCondition {
  type: string;
  status: string;
  reason: string;
  message: string;
  lastTransitionTime: string;
}

export const agents = pgTable(
  'agents',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    organizationId: uuid('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    hostname: text('hostname').notNull(),
    /**
     * SHA-256 of the host's machine id, as the agent sends it. It names a host, not an agent:
     * several agents (state directories) may run on one host, and an agent is taken over only
     * with its current token or an operator's replace token, never by its machine id.
     */
    machineId: text('machine_id').notNull(),
    platform: text('platform').notNull(),
    arch: text('arch').notNull(),
    version: text('version').notNull(),
    labels: jsonb('labels').$type<Record<string, string>>().notNull().default({}),
    tokenHash: text('token_hash').notNull(),
    enrollmentTokenId: uuid('enrollment_token_id').references(() => enrollmentTokens.id, {
      onDelete: 'set null',
    }),
    heartbeatIntervalSeconds: integer('heartbeat_interval_seconds').notNull().default(30),
    lastHeartbeatAt: timestampTz('last_heartbeat_at'),
    /**
     * The agent's watermark (HeartbeatRequest.deliveredThrough, its clock): every check-in it
     * recorded before this has arrived. Null until an agent reports one.
     */
    deliveredThrough: timestampTz('delivered_through'),
    conditions: jsonb('conditions').$type<StoredCondition[]>().notNull().default([]),
    /** Located manifest errors from the last heartbeat. */
    errors: jsonb('errors').$type<unknown[]>().notNull().default([]),
    lastAppliedRevision: text('last_applied_revision'),
    lastAttemptedRevision: text('last_attempted_revision'),
    repositoryUrl: text('repository_url'),
    repositoryBranch: text('repository_branch'),
    revokedAt: timestampTz('revoked_at'),
    revokedReason: text('revoked_reason'),
    /**
     * Commands queued since the agent last picked its commands up (some may have expired since).
     * The heartbeat reads this from the row it updates anyway: while it is 0, the heartbeat is
     * one statement and never looks at agent_commands.
     */
    pendingCommandCount: integer('pending_command_count').notNull().default(0),
    createdAt: createdAt(),
    updatedAt: timestampTz('updated_at').notNull().defaultNow(),
  },
  (table) => [
    uniqueIndex('agents_token_hash_key').on(table.tokenHash),
    index('agents_org_machine_idx').on(table.organizationId, table.machineId),
    index('agents_org_name_idx').on(table.organizationId, table.name),
    // Keyset pages, oldest first, and label filters (`labels @> '{"role":"db"}'`).
    index('agents_org_created_idx').on(table.organizationId, table.createdAt, table.id),
    index('agents_labels_idx').using('gin', table.labels.op('jsonb_path_ops')),
  ],
);

export const jobInstances = pgTable(
  'job_instances',
  {
    organizationId: uuid('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    agentId: uuid('agent_id')
      .notNull()
      .references(() => agents.id, { onDelete: 'cascade' }),
    namespace: text('namespace').notNull(),
    name: text('name').notNull(),
    schedule: text('schedule').notNull(),
    /** null: the agent's zone. */
    timezone: text('timezone'),
    commandDigest: text('command_digest').notNull(),
    sourcePath: text('source_path').notNull(),
    revision: text('revision').notNull(),
    suspended: boolean('suspended').notNull().default(false),
    concurrencyPolicy: text('concurrency_policy').notNull().default('Allow'),
    scheduler: text('scheduler').notNull(),
    graceSeconds: integer('grace_seconds').notNull(),
    maxRuntimeSeconds: integer('max_runtime_seconds'),
    alertAfter: integer('alert_after').notNull().default(1),
    recoverAfter: integer('recover_after').notNull().default(1),
    realertEverySeconds: integer('realert_every_seconds'),
    /** Channel names from monitoring.notify; empty: the organization's default channels. */
    notify: jsonb('notify').$type<string[]>().notNull().default([]),
    /** The manifest's retries.limit: a failed attempt below it is not yet final. */
    retryLimit: integer('retry_limit').notNull().default(0),
    /** The job's metadata.labels (silences match on them). */
    labels: jsonb('labels').$type<Record<string, string>>().notNull().default({}),
    /** What the backend found wrong with the instance's settings (an unknown channel name). */
    warnings: jsonb('warnings').$type<string[]>().notNull().default([]),
    lastSeenAt: timestampTz('last_seen_at').notNull().defaultNow(),
    /** When the backend first heard of this instance. */
    firstSeenAt: timestampTz('first_seen_at').notNull().defaultNow(),
    // The monitoring worker's state (backend/src/monitoring). Inventory updates never overwrite it.
    health: jobHealthEnum('health').notNull().default('new'),
    healthSince: timestampTz('health_since').notNull().defaultNow(),
    /** Every expected fire time up to this instant has been judged started or missed. */
    judgedThrough: timestampTz('judged_through').notNull().defaultNow(),
    /** When the worker next looks at this instance; a tick reads only the rows due. */
    nextCheckAt: timestampTz('next_check_at').notNull().defaultNow(),
    /**
     * A run of this instance failed since the worker last looked: its recent outcomes are read
     * then (otherwise only while a failing incident is open), so a look for a fire time alone
     * does not read run history.
     */
    runsChanged: boolean('runs_changed').notNull().default(false),
  },
  (table) => [
    primaryKey({ columns: [table.agentId, table.namespace, table.name] }),
    index('job_instances_org_job_idx').on(table.organizationId, table.namespace, table.name),
    index('job_instances_next_check_idx').on(table.nextCheckAt),
  ],
);

export const runs = pgTable(
  'runs',
  {
    /** Internal key: the tie-breaker of keyset pagination. */
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    /** Chosen by the agent; unique per agent. */
    runId: uuid('run_id').notNull(),
    organizationId: uuid('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    agentId: uuid('agent_id')
      .notNull()
      .references(() => agents.id, { onDelete: 'cascade' }),
    namespace: text('namespace').notNull(),
    name: text('name').notNull(),
    attempt: integer('attempt').notNull().default(1),
    trigger: runTriggerEnum('trigger').notNull().default('scheduled'),
    status: runStatusEnum('status').notNull(),
    scheduledAt: timestampTz('scheduled_at'),
    /** From the start check-in, or derived from finish minus duration when the finish came first. */
    startedAt: timestampTz('started_at').notNull(),
    finishedAt: timestampTz('finished_at'),
    durationMs: integer('duration_ms'),
    exitCode: integer('exit_code'),
    signal: text('signal'),
    outputHead: text('output_head').notNull().default(''),
    outputTail: text('output_tail').notNull().default(''),
    outputTruncated: boolean('output_truncated').notNull().default(false),
    revision: text('revision'),
    /**
     * Why the run ended so when its output cannot say: the agent's reason for a lost or skipped
     * run, or the backend's when it marked the run lost itself.
     */
    reason: text('reason'),
    /** Which check-ins arrived: a replay of either changes nothing. */
    startReceived: boolean('start_received').notNull().default(false),
    finishReceived: boolean('finish_received').notNull().default(false),
    createdAt: createdAt(),
    updatedAt: timestampTz('updated_at').notNull().defaultNow(),
  },
  (table) => [
    // The conflict target of releases before run ids were unique per organization: kept while a
    // replica of such a release may still run (it is implied by runs_org_run_key).
    uniqueIndex('runs_agent_run_key').on(table.agentId, table.runId),
    // A run id is the run's identity in the organization: an agent never writes another's run.
    uniqueIndex('runs_org_run_key').on(table.organizationId, table.runId),
    index('runs_org_started_idx').on(table.organizationId, table.startedAt.desc(), table.id.desc()),
    index('runs_org_job_started_idx').on(
      table.organizationId,
      table.namespace,
      table.name,
      table.startedAt.desc(),
      table.id.desc(),
    ),
    index('runs_org_agent_started_idx').on(
      table.organizationId,
      table.agentId,
      table.startedAt.desc(),
      table.id.desc(),
    ),
    index('runs_running_idx')
      .on(table.organizationId, table.startedAt)
      .where(sql`${table.status} = 'running'`),
    index('runs_created_idx').on(table.createdAt),
    // A heartbeat's check for the runs its agent no longer reports: tiny, like runs_running_idx.
    index('runs_agent_running_idx')
      .on(table.agentId, table.createdAt)
      .where(sql`${table.status} = 'running'`),
    // The monitoring worker's scan of the runs that failed since its last pass (backend clock):
    // only failures can make an instance failing; a success matters only to an instance that
    // already is, and those are looked at every pass.
    index('runs_failed_updated_idx')
      .on(table.updatedAt)
      .where(sql`${table.status} in ('failed', 'timed_out', 'lost')`),
  ],
);

/**
 * Reconcile-now and run-now requests, one row per agent asked. Delivered once, in the agent's
 * next heartbeat answer (delivered_at is set in the heartbeat's transaction); dropped when not
 * delivered by expires_at. Kept as history until the retention worker deletes them with the runs
 * of the same age.
 */
export const agentCommands = pgTable(
  'agent_commands',
  {
    /** The request id the operator gets back (and, for a run, the run id the agent uses). */
    id: uuid('id').primaryKey().defaultRandom(),
    organizationId: uuid('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    agentId: uuid('agent_id')
      .notNull()
      .references(() => agents.id, { onDelete: 'cascade' }),
    type: agentCommandTypeEnum('type').notNull(),
    /** The job, for `run` commands. */
    namespace: text('namespace'),
    name: text('name'),
    requestedByType: actorTypeEnum('requested_by_type').notNull(),
    requestedById: text('requested_by_id'),
    createdAt: createdAt(),
    expiresAt: timestampTz('expires_at').notNull(),
    deliveredAt: timestampTz('delivered_at'),
  },
  (table) => [
    // The commands an agent has yet to pick up: only those rows, so it stays tiny.
    index('agent_commands_pending_idx')
      .on(table.agentId, table.createdAt)
      .where(sql`${table.deliveredAt} is null`),
    index('agent_commands_created_idx').on(table.createdAt),
  ],
);

export const auditLog = pgTable(
  'audit_log',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    /** null for installation-level events (bootstrap). */
    organizationId: uuid('organization_id').references(() => organizations.id, {
      onDelete: 'cascade',
    }),
    actorType: actorTypeEnum('actor_type').notNull(),
    actorId: text('actor_id'),
    action: text('action').notNull(),
    targetType: text('target_type'),
    targetId: text('target_id'),
    details: jsonb('details').$type<Record<string, unknown>>().notNull().default({}),
    ip: text('ip'),
    userAgent: text('user_agent'),
    createdAt: createdAt(),
  },
  (table) => [
    // Keyset pages of GET /api/v1/audit, newest first: (created_at, id) descending.
    index('audit_log_org_created_id_idx').on(
      table.organizationId,
      table.createdAt.desc(),
      table.id.desc(),
    ),
  ],
);

/**
 * One problem with one job instance (missed, failing, overrun) or one agent (agent_offline), from
 * the moment the monitoring worker opens it until it is resolved (by the worker when the problem
 * ends, or by a person). At most one is open per instance (or agent) and kind: the partial unique
 * indexes make a second replica's open a no-op.
 */
export const incidents = pgTable(
  'incidents',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    organizationId: uuid('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    kind: incidentKindEnum('kind').notNull(),
    agentId: uuid('agent_id')
      .notNull()
      .references(() => agents.id, { onDelete: 'cascade' }),
    /** The job; null for an agent's incident. */
    namespace: text('namespace'),
    name: text('name'),
    openedAt: timestampTz('opened_at').notNull(),
    updatedAt: timestampTz('updated_at').notNull(),
    /** What should have happened and what did, as the latest event says it. */
    expected: text('expected').notNull(),
    happened: text('happened').notNull(),
    /** Missed fires, failed runs in a row, or overrunning runs seen so far. */
    occurrences: integer('occurrences').notNull().default(1),
    acknowledgedAt: timestampTz('acknowledged_at'),
    acknowledgedByType: actorTypeEnum('acknowledged_by_type'),
    acknowledgedById: text('acknowledged_by_id'),
    /** The silence that matched when the incident opened: it notifies nobody. */
    silenceId: uuid('silence_id'),
    /** When to notify again while open, unacknowledged and unsilenced (monitoring.realertEvery). */
    nextRealertAt: timestampTz('next_realert_at'),
    resolvedAt: timestampTz('resolved_at'),
    /** null: the worker resolved it because the problem ended. */
    resolvedByType: actorTypeEnum('resolved_by_type'),
    resolvedById: text('resolved_by_id'),
    resolution: text('resolution'),
  },
  (table) => [
    uniqueIndex('incidents_open_job_key')
      .on(table.agentId, table.namespace, table.name, table.kind)
      .where(sql`${table.resolvedAt} is null and ${table.namespace} is not null`),
    uniqueIndex('incidents_open_agent_key')
      .on(table.agentId, table.kind)
      .where(sql`${table.resolvedAt} is null and ${table.namespace} is null`),
    // Keyset pages, newest first.
    index('incidents_org_opened_idx').on(
      table.organizationId,
      table.openedAt.desc(),
      table.id.desc(),
    ),
    index('incidents_org_job_idx').on(table.organizationId, table.namespace, table.name),
    index('incidents_realert_idx')
      .on(table.nextRealertAt)
      .where(sql`${table.resolvedAt} is null and ${table.nextRealertAt} is not null`),
  ],
);

/** An incident's timeline: what happened to it, oldest first. */
export const incidentEvents = pgTable(
  'incident_events',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    incidentId: uuid('incident_id')
      .notNull()
      .references(() => incidents.id, { onDelete: 'cascade' }),
    at: timestampTz('at').notNull(),
    /** opened, updated, acknowledged, silenced, realerted or resolved. */
    type: text('type').notNull(),
    actorType: actorTypeEnum('actor_type').notNull(),
    actorId: text('actor_id'),
    message: text('message').notNull(),
  },
  (table) => [index('incident_events_incident_idx').on(table.incidentId, table.id)],
);

/**
 * A maintenance window, like Alertmanager's: incidents it matches while active are recorded as
 * silenced and notify nobody. Every matcher given must hold; an absent one matches anything.
 */
export const silences = pgTable(
  'silences',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    organizationId: uuid('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    namespace: text('namespace'),
    jobName: text('job_name'),
    /** Job labels that must all match ({} matches any job, and agents' own incidents). */
    jobLabels: jsonb('job_labels').$type<Record<string, string>>().notNull().default({}),
    agentId: uuid('agent_id').references(() => agents.id, { onDelete: 'cascade' }),
    startsAt: timestampTz('starts_at').notNull(),
    endsAt: timestampTz('ends_at').notNull(),
    comment: text('comment').notNull(),
    createdByType: actorTypeEnum('created_by_type').notNull(),
    createdById: text('created_by_id'),
    /** Who made it, as shown ("ada@example.com", or the token's name). */
    createdByName: text('created_by_name').notNull(),
    createdAt: createdAt(),
    /** Set when someone expired it early (ends_at then became that instant). */
    expiredAt: timestampTz('expired_at'),
  },
  (table) => [index('silences_org_ends_idx').on(table.organizationId, table.endsAt)],
);

/**
 * Where incidents are sent. `config` holds the kind's non-secret fields; `sealedSecrets` the
 * secret ones, encrypted (notifications/channelSecrets.ts), never returned after creation.
 */
export const notificationChannels = pgTable(
  'notification_channels',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    organizationId: uuid('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    kind: text('kind').notNull(),
    config: jsonb('config').$type<Record<string, unknown>>().notNull().default({}),
    sealedSecrets: text('sealed_secrets'),
    /** Receives the incidents of jobs whose monitoring.notify names no channel. */
    isDefault: boolean('is_default').notNull().default(false),
    createdAt: createdAt(),
    updatedAt: timestampTz('updated_at').notNull().defaultNow(),
  },
  (table) => [
    uniqueIndex('notification_channels_org_name_key').on(table.organizationId, table.name),
  ],
);

/**
 * The outbox: one row per notification and channel, written in the transaction that changed the
 * incident, delivered by whichever replica claims it first (FOR UPDATE SKIP LOCKED), retried with
 * backoff until delivered, refused for good, or 24 hours old.
 */
export const notificationDeliveries = pgTable(
  'notification_deliveries',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    organizationId: uuid('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    channelId: uuid('channel_id')
      .notNull()
      .references(() => notificationChannels.id, { onDelete: 'cascade' }),
    /** null for a channel's test message. */
    incidentId: uuid('incident_id').references(() => incidents.id, { onDelete: 'cascade' }),
    event: text('event').notNull(),
    /** Stable across retries: the webhook-id, the Message-ID, PagerDuty's event identity. */
    idempotencyKey: text('idempotency_key').notNull(),
    /** The Notification (notifications/notification.ts) as sent. */
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
    status: deliveryStatusEnum('status').notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    /** When a replica may (re)try it; a claim moves it past its lease. */
    nextAttemptAt: timestampTz('next_attempt_at').notNull(),
    createdAt: createdAt(),
    lastAttemptAt: timestampTz('last_attempt_at'),
    deliveredAt: timestampTz('delivered_at'),
    lastError: text('last_error'),
    lastStatus: integer('last_status'),
  },
  (table) => [
    uniqueIndex('notification_deliveries_key').on(table.channelId, table.idempotencyKey),
    index('notification_deliveries_due_idx')
      .on(table.nextAttemptAt)
      .where(sql`${table.status} = 'pending'`),
    index('notification_deliveries_channel_idx').on(
      table.channelId,
      table.createdAt.desc(),
      table.id.desc(),
    ),
  ],
);

/** Every delivery attempt, as it went. */
export const notificationAttempts = pgTable(
  'notification_attempts',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    deliveryId: bigint('delivery_id', { mode: 'number' })
      .notNull()
      .references(() => notificationDeliveries.id, { onDelete: 'cascade' }),
    at: timestampTz('at').notNull(),
    outcome: text('outcome').notNull(),
    status: integer('status'),
    reason: text('reason'),
    durationMs: integer('duration_ms').notNull(),
  },
  (table) => [index('notification_attempts_delivery_idx').on(table.deliveryId, table.id)],
);

/**
 * The monitoring worker's clock, one row: when a pass last ran (so a backend that was down knows
 * it, and waits for agents to drain their spools before judging), and how far the scan of
 * finished runs has gone.
 */
export const monitorClock = pgTable('monitor_clock', {
  id: integer('id').primaryKey(),
  lastPassAt: timestampTz('last_pass_at').notNull(),
  /** The start of the backend's current stretch of uninterrupted passes. */
  upSince: timestampTz('up_since').notNull(),
  /** Runs finished (updated_at, backend clock) up to here have been looked at. */
  runsScannedThrough: timestampTz('runs_scanned_through').notNull(),
});
