import type { AgentCommandReceipt, RunJobRequest, RunJobResponse } from './agentCommandContract.js';
import type {
  Agent,
  AgentDetail,
  CreateEnrollmentTokenRequest,
  CreateEnrollmentTokenResponse,
  EnrollmentTokenSummary,
  ListEnrollmentTokensResponse,
  RevokeAgentRequest,
  UpdateAgentRequest,
  EnrollRequest,
  EnrollResponse,
  HeartbeatRequest,
  HeartbeatResponse,
  ListAgentsResponse,
} from './agentContract.js';
import type {
  AddUserRequest,
  AddUserResponse,
  ApiTokenSummary,
  BootstrapRequest,
  ChangeUserRoleRequest,
  CreateApiTokenRequest,
  CreateApiTokenResponse,
  ListApiTokensResponse,
  ListUsersResponse,
  LoginRequest,
  LogoutResponse,
  MeResponse,
  OrganizationUser,
  RemoveUserResponse,
  SessionResponse,
} from './authContract.js';
import type { AuditEntry, ListAuditResponse } from './auditContract.js';
import type { CheckInBatchRequest, CheckInBatchResponse } from './checkInContract.js';
import type {
  CreateOrganizationRequest,
  ListOrganizationsResponse,
  OrganizationMembership,
  RenameOrganizationRequest,
  SwitchOrganizationRequest,
} from './organizationContract.js';
import type { ApiErrorBody } from './errorContract.js';
import type {
  CreateNotificationChannelRequest,
  ListNotificationChannelsResponse,
  ListNotificationDeliveriesResponse,
  NotificationChannel,
  NotificationDelivery,
  TestNotificationChannelResponse,
  UpdateNotificationChannelRequest,
} from './notificationChannelContract.js';
import type {
  Incident,
  IncidentDetail,
  ListIncidentsResponse,
  ResolveIncidentRequest,
} from './incidentContract.js';
import type { JobDetail } from './jobDetailContract.js';
import type { LiveEventStream } from './liveEventContract.js';
import type { InventoryRequest, InventoryResponse } from './inventoryContract.js';
import type {
  JobSummary,
  ListJobsResponse,
  ListRunsResponse,
  Run,
  RunDetail,
  RunsPerHour,
  StatsResponse,
} from './runContract.js';
import type { CreateSilenceRequest, ListSilencesResponse, Silence } from './silenceContract.js';

/**
 * One valid example of each request and response: the documentation and the OpenAPI document
 * show them, and tests of the client and the backend start from them.
 */

const revision = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';
const agentId = '0b6f1c1e-5d2a-4c3b-9f5e-8a7d6c5b4a39';
const runId = '3f1c2a9e-8d4b-4f0e-9a61-2b7c5d8e9f10';
const runRequestId = '9e2d1c4b-7a6f-4e3d-8c2b-1a0f9e8d7c6b';

const enrollRequest: EnrollRequest = {
  name: 'db-1',
  hostname: 'db-1.eu-west.internal',
  machineId: 'a3f5c1e0b2d4968778695a4b3c2d1e0f9a8b7c6d5e4f30211203f4e5d6c7b8a9',
  platform: 'linux',
  arch: 'x64',
  version: '0.1.0',
  labels: { role: 'db', team: 'platform' },
};

const enrollResponse: EnrollResponse = {
  agentId,
  agentToken: 'cfa_Zm9vYmFyYmF6cXV4cXV1eDEyMzQ1Njc4OTA',
  heartbeatIntervalSeconds: 30,
  outcome: 'created',
};

const heartbeatRequest: HeartbeatRequest = {
  conditions: [
    {
      type: 'Ready',
      status: 'false',
      reason: 'ManifestInvalid',
      message: '1 manifest could not be applied; the other jobs are up to date',
      lastTransitionTime: '2024-05-01T02:00:03.120Z',
    },
    {
      type: 'Stalled',
      status: 'true',
      reason: 'ManifestInvalid',
      message: 'production/backup.yaml: spec.schedule is not a valid cron expression',
      lastTransitionTime: '2024-05-01T02:00:03.120Z',
    },
  ],
  lastAppliedRevision: revision,
  lastAttemptedRevision: revision,
  repository: { url: 'https://git.example.com/ops/cron-jobs.git', branch: 'main' },
  errors: [
    {
      file: 'production/backup.yaml',
      line: 7,
      column: 13,
      job: 'production/nightly-db-backup',
      path: 'spec.schedule',
      message: 'minute field "61" is out of range 0-59',
    },
  ],
  version: '0.1.0',
  runningRunIds: [runId],
  acceptsCommands: true,
  deliveredThrough: '2024-05-01T02:00:00.000Z',
};

const heartbeatResponse: HeartbeatResponse = {
  heartbeatIntervalSeconds: 30,
  commands: [
    { type: 'reconcile' },
    {
      type: 'run',
      namespace: 'production',
      name: 'nightly-db-backup',
      requestId: runRequestId,
    },
  ],
};

const inventoryRequest: InventoryRequest = {
  revision,
  jobs: [
    {
      namespace: 'production',
      name: 'nightly-db-backup',
      schedule: '0 2 * * *',
      timezone: 'America/New_York',
      commandDigest: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      sourcePath: 'production/backup.yaml',
      revision,
      suspended: false,
      monitoring: {
        graceSeconds: 600,
        maxRuntimeSeconds: 10_800,
        alertAfter: 2,
        recoverAfter: 1,
        realertEverySeconds: 3600,
        notify: ['dba-pager', 'ops'],
        retryLimit: 2,
      },
      concurrencyPolicy: 'Forbid',
      scheduler: 'cron.d',
      labels: { team: 'platform', tier: 'critical' },
    },
  ],
  unmanaged: [{ schedule: '*/5 * * * *', command: '/usr/local/bin/legacy-sync.sh' }],
};

const inventoryResponse: InventoryResponse = {
  jobCount: 1,
  unmanagedCount: 1,
  warnings: [
    {
      namespace: 'production',
      name: 'nightly-db-backup',
      message:
        'monitoring.notify names "ops", which is no notification channel of this organization; its incidents go to the default channels',
    },
  ],
};

const checkInBatchRequest: CheckInBatchRequest = {
  checkIns: [
    {
      kind: 'start',
      runId,
      namespace: 'production',
      name: 'nightly-db-backup',
      attempt: 1,
      trigger: 'scheduled',
      scheduledAt: '2024-05-01T06:00:00Z',
      startedAt: '2024-05-01T06:00:00.412Z',
      revision,
    },
    {
      kind: 'finish',
      runId,
      namespace: 'production',
      name: 'nightly-db-backup',
      attempt: 1,
      status: 'succeeded',
      finishedAt: '2024-05-01T06:04:12.907Z',
      durationMs: 252_495,
      exitCode: 0,
      signal: null,
      outputHead: 'pg_dump: dumping contents of table "public.orders"\n',
      outputTail: 'backup written to /var/backups/db-2024-05-01.sql.gz\n',
      outputTruncated: true,
      revision,
      reason: null,
    },
  ],
};

const checkInBatchResponse: CheckInBatchResponse = { accepted: 2, duplicates: 0 };

const run: Run = {
  runId,
  agentId,
  agentName: 'db-1',
  namespace: 'production',
  name: 'nightly-db-backup',
  attempt: 1,
  trigger: 'scheduled',
  status: 'succeeded',
  scheduledAt: '2024-05-01T06:00:00Z',
  startedAt: '2024-05-01T06:00:00.412Z',
  finishedAt: '2024-05-01T06:04:12.907Z',
  durationMs: 252_495,
  exitCode: 0,
  signal: null,
  outputTruncated: true,
  revision,
  reason: null,
};

const runDetail: RunDetail = {
  ...run,
  outputHead: 'pg_dump: dumping contents of table "public.orders"\n',
  outputTail: 'backup written to /var/backups/db-2024-05-01.sql.gz\n',
};

const listRunsResponse: ListRunsResponse = { items: [run], nextCursor: 'eyJ0IjoxNzE0NTM0NDAwfQ' };

const agent: Agent = {
  id: agentId,
  name: 'db-1',
  hostname: 'db-1.eu-west.internal',
  platform: 'linux',
  arch: 'x64',
  version: '0.1.0',
  labels: { role: 'db', team: 'platform' },
  status: 'online',
  lastHeartbeatAt: '2024-05-01T06:05:00.000Z',
  deliveredThrough: '2024-05-01T06:04:58.000Z',
  conditions: heartbeatRequest.conditions,
  lastAppliedRevision: revision,
  lastAttemptedRevision: revision,
  repository: heartbeatRequest.repository,
  createdAt: '2024-04-02T09:30:00.000Z',
  // Operators and admins see it; viewers get the agent without it.
  machineId: enrollRequest.machineId,
};

const listAgentsResponse: ListAgentsResponse = { items: [agent], nextCursor: null };

const organizationId = '5d0e7a4c-1b2f-4a8e-9c3d-7e6f5a4b3c21';
const adminUserId = '8c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f';
const operatorUserId = '2a3b4c5d-6e7f-4081-9a2b-3c4d5e6f7a8b';
const apiTokenId = 'c4d5e6f7-a8b9-4c0d-9e1f-2a3b4c5d6e7f';
const enrollmentTokenId = '6e7f8a9b-0c1d-4e2f-8a3b-4c5d6e7f8a9b';

const bootstrapRequest: BootstrapRequest = {
  organizationName: 'Acme Platform',
  email: 'ada@example.com',
  password: 'correct horse battery staple',
  name: 'Ada Lovelace',
};

const loginRequest: LoginRequest = {
  email: 'ada@example.com',
  password: 'correct horse battery staple',
  organizationId,
};

const sessionResponse: SessionResponse = {
  user: { id: adminUserId, email: 'ada@example.com', name: 'Ada Lovelace' },
  organization: { id: organizationId, name: 'Acme Platform' },
  role: 'admin',
  expiresAt: '2024-05-15T09:30:00.000Z',
};

const logoutResponse: LogoutResponse = { signedOut: true };

const meResponse: MeResponse = {
  user: { id: adminUserId, email: 'ada@example.com', name: 'Ada Lovelace' },
  organization: { id: organizationId, name: 'Acme Platform' },
  role: 'admin',
  permissions: ['read', 'write', 'admin'],
  via: 'session',
  organizations: [{ id: organizationId, name: 'Acme Platform', role: 'admin' }],
};

const createApiTokenRequest: CreateApiTokenRequest = {
  name: 'ci-deploy',
  scopes: ['read', 'write'],
  expiresInDays: 90,
};

const apiTokenSummary: ApiTokenSummary = {
  id: apiTokenId,
  name: 'ci-deploy',
  userId: adminUserId,
  userEmail: 'ada@example.com',
  tokenPrefix: 'cfp_Q2xp5v',
  scopes: ['read', 'write'],
  createdAt: '2024-05-01T09:30:00.000Z',
  expiresAt: '2024-07-30T09:30:00.000Z',
  lastUsedAt: '2024-05-01T10:02:41.000Z',
  revokedAt: null,
  parentTokenId: null,
};

const createApiTokenResponse: CreateApiTokenResponse = {
  token: 'cfp_Q2xp5vN3bGtQa0dVeWh6eE1wR1JzVGpI',
  apiToken: { ...apiTokenSummary, lastUsedAt: null },
};

const listApiTokensResponse: ListApiTokensResponse = { items: [apiTokenSummary] };

const revokedApiToken: ApiTokenSummary = {
  ...apiTokenSummary,
  revokedAt: '2024-05-02T08:00:00.000Z',
};

const organizationUser: OrganizationUser = {
  id: operatorUserId,
  email: 'grace@example.com',
  name: 'Grace Hopper',
  role: 'operator',
  joinedAt: '2024-05-01T11:00:00.000Z',
};

const listUsersResponse: ListUsersResponse = {
  items: [
    {
      id: adminUserId,
      email: 'ada@example.com',
      name: 'Ada Lovelace',
      role: 'admin',
      joinedAt: '2024-05-01T09:30:00.000Z',
    },
    organizationUser,
  ],
};

const addUserRequest: AddUserRequest = {
  email: 'grace@example.com',
  name: 'Grace Hopper',
  role: 'operator',
  password: 'a long and memorable passphrase',
};

const addUserResponse: AddUserResponse = { ...organizationUser, accountCreated: true };

const changeUserRoleRequest: ChangeUserRoleRequest = { role: 'viewer' };

const changedUser: OrganizationUser = { ...organizationUser, role: 'viewer' };

const removeUserResponse: RemoveUserResponse = {
  userId: operatorUserId,
  sessionsEnded: 1,
  tokensDeleted: 2,
};

const createEnrollmentTokenRequest: CreateEnrollmentTokenRequest = {
  description: 'eu-west database hosts',
  labels: { region: 'eu-west', role: 'db' },
  maxUses: 10,
  expiresInHours: 24,
};

const enrollmentTokenSummary: EnrollmentTokenSummary = {
  id: enrollmentTokenId,
  description: 'eu-west database hosts',
  tokenPrefix: 'cfe_R3kL9q',
  labels: { region: 'eu-west', role: 'db' },
  maxUses: 10,
  uses: 3,
  expiresAt: '2024-05-02T09:00:00.000Z',
  revokedAt: null,
  status: 'active',
  createdAt: '2024-05-01T09:00:00.000Z',
  replacesAgentId: null,
};

const createEnrollmentTokenResponse: CreateEnrollmentTokenResponse = {
  ...enrollmentTokenSummary,
  uses: 0,
  token: 'cfe_R3kL9qVtWm2xYpZ8sN4bC7dF1gH5jK0',
};

const listEnrollmentTokensResponse: ListEnrollmentTokensResponse = {
  items: [enrollmentTokenSummary],
  nextCursor: null,
};

const revokedEnrollmentToken: EnrollmentTokenSummary = {
  ...enrollmentTokenSummary,
  revokedAt: '2024-05-01T15:00:00.000Z',
  status: 'revoked',
};

const agentDetail: AgentDetail = {
  ...agent,
  heartbeatIntervalSeconds: 30,
  errors: heartbeatRequest.errors,
  jobInstanceCount: 12,
  enrollmentTokenId,
  revokedAt: null,
  revokedReason: null,
  updatedAt: '2024-05-01T06:05:00.000Z',
};

const updateAgentRequest: UpdateAgentRequest = {
  name: 'db-1-eu-west',
  labels: { role: 'db', team: 'platform', region: 'eu-west' },
};

const revokeAgentRequest: RevokeAgentRequest = {
  reason: 'host decommissioned (ticket OPS-1234)',
};

const revokedAgentDetail: AgentDetail = {
  ...agentDetail,
  status: 'revoked',
  revokedAt: '2024-05-03T12:00:00.000Z',
  revokedReason: revokeAgentRequest.reason,
  updatedAt: '2024-05-03T12:00:00.000Z',
};

const reconcileReceipt: AgentCommandReceipt = {
  requestId: '1d7e3b5a-9c2f-4e8d-a6b1-0f4c7e2d9a35',
  type: 'reconcile',
  agentId,
  agentName: 'db-1',
  createdAt: '2024-05-01T09:15:00.000Z',
  expiresAt: '2024-05-01T09:25:00.000Z',
};

const runJobRequest: RunJobRequest = { agentId };

const runJobResponse: RunJobResponse = {
  namespace: 'production',
  name: 'nightly-db-backup',
  requests: [
    {
      // The agent records the run it starts under this id: GET /api/v1/runs/{requestId}.
      requestId: runRequestId,
      type: 'run',
      agentId,
      agentName: 'db-1',
      createdAt: '2024-05-01T09:15:00.000Z',
      expiresAt: '2024-05-01T09:25:00.000Z',
    },
  ],
};

const jobSummary: JobSummary = {
  namespace: 'production',
  name: 'nightly-db-backup',
  schedule: '0 2 * * *',
  scheduleDescription: 'At 02:00 every day',
  schedules: [
    {
      schedule: '0 2 * * *',
      description: 'At 02:00 every day',
      timezone: 'America/New_York',
      instances: 3,
    },
  ],
  nextRunAt: '2024-05-02T06:00:00.000Z',
  lastRun: {
    runId,
    agentId,
    status: 'succeeded',
    startedAt: '2024-05-01T06:00:00.412Z',
    finishedAt: '2024-05-01T06:04:12.907Z',
    durationMs: 252_495,
  },
  runs7d: 21,
  successRate7d: 0.95,
  p50DurationMs7d: 248_000,
  p95DurationMs7d: 301_500,
  instances: 3,
  suspendedInstances: 0,
  suspended: false,
  labels: { team: 'dba', tier: 'critical' },
  recentRuns: [
    { runId, status: 'succeeded', startedAt: '2024-05-01T06:00:00.412Z' },
    {
      runId: '6a1f3c2e-8b4d-4e5f-9a0b-1c2d3e4f5a6b',
      status: 'failed',
      startedAt: '2024-04-30T06:00:00.388Z',
    },
  ],
  health: 'failing',
  instanceHealth: [
    {
      agentId,
      agentName: 'db-1',
      health: 'up',
      healthSince: '2024-04-02T10:00:00.000Z',
      warnings: [],
    },
    {
      agentId: '5d1c9e2a-7b3f-4e8d-a6c0-2f9b8e7d6c51',
      agentName: 'db-2',
      health: 'failing',
      healthSince: '2024-05-01T06:04:13.000Z',
      warnings: [],
    },
    {
      agentId: '9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b',
      agentName: 'db-3',
      health: 'up',
      healthSince: '2024-04-02T10:00:00.000Z',
      warnings: [
        'monitoring.notify names "dba-oncall", which is no notification channel of this organization; its incidents go to the organization\'s default channels',
      ],
    },
  ],
};

const listJobsResponse: ListJobsResponse = { items: [jobSummary], nextCursor: null, total: 1 };

/** 24 hours ending with the hour of 2024-05-01T06:00Z, quiet except for the nightly backups. */
const runsPerHour: RunsPerHour[] = Array.from({ length: 24 }, (_unused, index) => {
  const hourStart = new Date(Date.UTC(2024, 3, 30, 7 + index)).toISOString();
  const backups = index === 23 ? 3 : 0;
  return {
    hourStart,
    counts: {
      running: 0,
      succeeded: 12 + backups,
      failed: index === 20 ? 1 : 0,
      timed_out: 0,
      skipped: 0,
      lost: 0,
    },
  };
});

const statsResponse: StatsResponse = {
  generatedAt: '2024-05-01T06:10:00.000Z',
  agents: { online: 11, offline: 1, revoked: 2, total: 14 },
  jobs: { healthy: 40, failing: 2, running: 1, neverRun: 3, total: 46 },
  jobsByHealth: {
    new: 3,
    up: 38,
    missed: 1,
    failing: 2,
    overrun: 0,
    suspended: 1,
    unknown: 1,
    silenced: 0,
  },
  openIncidents: { missed: 1, failing: 2, overrun: 0, agent_offline: 1, total: 4 },
  runsPerHour,
};

const secondOrganizationId = '7b8c9d0e-1f2a-4b3c-8d4e-5f6a7b8c9d0e';

const createOrganizationRequest: CreateOrganizationRequest = { name: 'Acme Data' };

const createdOrganization: OrganizationMembership = {
  id: secondOrganizationId,
  name: 'Acme Data',
  role: 'admin',
  createdAt: '2024-05-03T08:00:00.000Z',
  active: false,
};

const listOrganizationsResponse: ListOrganizationsResponse = {
  items: [
    {
      id: organizationId,
      name: 'Acme Platform',
      role: 'admin',
      createdAt: '2024-05-01T09:30:00.000Z',
      active: true,
    },
    createdOrganization,
  ],
  canCreate: true,
};

const renameOrganizationRequest: RenameOrganizationRequest = { name: 'Acme Data Platform' };

const renamedOrganization: OrganizationMembership = {
  ...createdOrganization,
  name: 'Acme Data Platform',
  active: true,
};

const switchOrganizationRequest: SwitchOrganizationRequest = {
  organizationId: secondOrganizationId,
};

const switchedSessionResponse: SessionResponse = {
  ...sessionResponse,
  organization: { id: secondOrganizationId, name: 'Acme Data' },
};

const auditEntry: AuditEntry = {
  id: 1042,
  createdAt: '2024-05-02T08:00:00.000Z',
  actorType: 'user',
  actorId: adminUserId,
  action: 'api_token.revoke',
  targetType: 'api_token',
  targetId: apiTokenId,
  details: { name: 'ci-deploy', ownerUserId: adminUserId, tokenPrefix: 'cfp_Q2xp5v' },
  ip: '203.0.113.7',
  userAgent: 'Mozilla/5.0',
};

const listAuditResponse: ListAuditResponse = {
  items: [auditEntry],
  nextCursor: 'WyIxNzE0NjM2ODAwMDAwMDAwIiwxMDQyXQ',
};

const notificationChannelId = '2e4f6a8c-0b1d-4e3f-8a5c-7b9d1f3e5a70';

const createNotificationChannelRequest: CreateNotificationChannelRequest = {
  name: 'ops-webhook',
  kind: 'webhook',
  isDefault: true,
  config: {
    url: 'https://hooks.example.com/cronfleet',
    signingSecret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  },
};

const notificationChannel: NotificationChannel = {
  id: notificationChannelId,
  name: 'ops-webhook',
  kind: 'webhook',
  isDefault: true,
  config: { url: 'https://hooks.example.com/cronfleet' },
  secretFieldsSet: ['signingSecret'],
  createdAt: '2024-05-01T09:00:00.000Z',
  updatedAt: '2024-05-01T09:00:00.000Z',
};

const listNotificationChannelsResponse: ListNotificationChannelsResponse = {
  items: [notificationChannel],
};

const updateNotificationChannelRequest: UpdateNotificationChannelRequest = {
  config: { url: 'https://hooks.example.com/cronfleet/v2' },
};

const updatedNotificationChannel: NotificationChannel = {
  ...notificationChannel,
  config: { url: 'https://hooks.example.com/cronfleet/v2' },
  updatedAt: '2024-05-02T10:15:00.000Z',
};

const notificationDelivery: NotificationDelivery = {
  id: 4107,
  channelId: notificationChannelId,
  incidentId: '6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
  event: 'incident.opened',
  idempotencyKey: 'incident-6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d-opened',
  status: 'delivered',
  createdAt: '2024-05-01T06:10:02.000Z',
  nextAttemptAt: null,
  lastAttemptAt: '2024-05-01T06:10:33.000Z',
  deliveredAt: '2024-05-01T06:10:33.000Z',
  lastError: null,
  lastStatus: 200,
  attempts: [
    {
      at: '2024-05-01T06:10:02.000Z',
      outcome: 'failed',
      status: 503,
      reason: 'https://hooks.example.com answered 503 Service Unavailable',
      durationMs: 87,
    },
    {
      at: '2024-05-01T06:10:33.000Z',
      outcome: 'delivered',
      status: 200,
      reason: null,
      durationMs: 64,
    },
  ],
};

const listNotificationDeliveriesResponse: ListNotificationDeliveriesResponse = {
  items: [notificationDelivery],
  nextCursor: null,
};

const testNotificationChannelResponse: TestNotificationChannelResponse = {
  outcome: 'delivered',
  reason: null,
  retryable: null,
  delivery: {
    ...notificationDelivery,
    id: 4108,
    incidentId: null,
    event: 'test',
    idempotencyKey: 'test-9f8e7d6c5b4a',
    createdAt: '2024-05-02T10:16:00.000Z',
    lastAttemptAt: '2024-05-02T10:16:00.000Z',
    deliveredAt: '2024-05-02T10:16:00.000Z',
    attempts: [
      {
        at: '2024-05-02T10:16:00.000Z',
        outcome: 'delivered',
        status: 200,
        reason: null,
        durationMs: 71,
      },
    ],
  },
};

const incidentId = '6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const silenceId = '8c9d0e1f-2a3b-4c5d-9e6f-7a8b9c0d1e2f';

const incident: Incident = {
  id: incidentId,
  kind: 'missed',
  status: 'open',
  agent: { id: agentId, name: 'db-1' },
  job: { namespace: 'production', name: 'nightly-db-backup' },
  openedAt: '2024-05-01T06:10:02.000Z',
  updatedAt: '2024-05-01T06:10:02.000Z',
  resolvedAt: null,
  resolution: null,
  resolvedBy: null,
  acknowledgedAt: null,
  acknowledgedBy: null,
  silenced: false,
  silenceId: null,
  expected: 'a run to start within 10m of each fire time of "0 2 * * *" (America/New_York)',
  happened: 'no run started for the fire at 2024-05-01 02:00 EDT (06:00 UTC)',
  occurrences: 1,
};

const incidentDetail: IncidentDetail = {
  ...incident,
  events: [
    {
      id: 311,
      at: '2024-05-01T06:10:02.000Z',
      type: 'opened',
      actor: { type: 'system', id: null },
      message: 'no run started for the fire at 2024-05-01 02:00 EDT (06:00 UTC)',
    },
  ],
};

const listIncidentsResponse: ListIncidentsResponse = {
  items: [incident],
  nextCursor: 'WyIxNzE0NTQzODAyMDAwMDAwIiwiNmExYjJjM2QtNGU1Zi00YTZiLThjN2QtOWUwZjFhMmIzYzRkIl0',
};

const acknowledgedIncident: Incident = {
  ...incident,
  updatedAt: '2024-05-01T06:14:40.000Z',
  acknowledgedAt: '2024-05-01T06:14:40.000Z',
  acknowledgedBy: { type: 'user', id: operatorUserId, name: 'grace@example.com' },
};

const resolveIncidentRequest: ResolveIncidentRequest = {
  comment: 'ran the backup by hand; the disk is cleaned up',
};

const resolvedIncident: Incident = {
  ...acknowledgedIncident,
  status: 'resolved',
  updatedAt: '2024-05-01T06:31:05.000Z',
  resolvedAt: '2024-05-01T06:31:05.000Z',
  resolution: 'resolved by grace@example.com: ran the backup by hand; the disk is cleaned up',
  resolvedBy: { type: 'user', id: operatorUserId, name: 'grace@example.com' },
};

/** The nightly backup on db-1: the fires around the spring-forward day of 2024 in New York. */
const jobDetail: JobDetail = {
  ...jobSummary,
  instances: 1,
  health: 'up',
  schedules: [{ ...(jobSummary.schedules[0] as JobSummary['schedules'][number]), instances: 1 }],
  instanceHealth: [jobSummary.instanceHealth[0] as JobSummary['instanceHealth'][number]],
  instanceDetails: [
    {
      agent: { id: agentId, name: 'db-1', status: 'online' },
      schedule: '30 2 * * *',
      scheduleDescription: 'At 02:30 every day',
      timezone: 'America/New_York',
      suspended: false,
      sourcePath: 'production/backups.yaml',
      revision: 'a3f9c2e1d4b5a6978c0d1e2f3a4b5c6d7e8f9a0b',
      health: 'up',
      healthSince: '2024-04-02T10:00:00.000Z',
      warnings: [],
      monitoring: {
        graceSeconds: 600,
        maxRuntimeSeconds: 10_800,
        alertAfter: 2,
        recoverAfter: 1,
        realertEverySeconds: null,
        notify: ['dba-oncall'],
      },
    },
  ],
  nextFireTimes: [
    {
      at: '2024-03-09T07:30:00.000Z',
      schedule: '30 2 * * *',
      timezone: 'America/New_York',
      instances: 1,
      daylightSavingNote: null,
    },
    {
      at: '2024-03-10T07:00:00.000Z',
      schedule: '30 2 * * *',
      timezone: 'America/New_York',
      instances: 1,
      daylightSavingNote:
        'clocks go forward 1 h in America/New_York at 02:00 EST: 02:00–02:59 does not exist, a job due then runs at 03:00 EDT',
    },
    {
      at: '2024-03-11T06:30:00.000Z',
      schedule: '30 2 * * *',
      timezone: 'America/New_York',
      instances: 1,
      daylightSavingNote: null,
    },
  ],
  openIncidents: [incident],
};

/** A stretch of the live events stream (GET /api/v1/events): what a client reads. */
const liveEventStream: LiveEventStream = [
  'retry: 5000',
  '',
  'id: k3x9q1.41',
  'event: run',
  `data: {"runId":"${runId}","namespace":"production","name":"nightly-db-backup","agentId":"${agentId}","status":"running","startedAt":"2024-05-01T06:00:00.412Z","finishedAt":null}`,
  '',
  ': keep-alive',
  '',
  'id: k3x9q1.42',
  'event: incident',
  `data: {"id":"${incidentId}","action":"opened","kind":"missed","status":"open","acknowledged":false,"job":{"namespace":"production","name":"nightly-db-backup"},"agent":{"id":"${agentId}","name":"db-1"}}`,
  '',
  '',
].join('\n');

const createSilenceRequest: CreateSilenceRequest = {
  matchers: { namespace: 'production', labels: { team: 'dba' } },
  startsAt: '2024-05-04T22:00:00Z',
  endsAt: '2024-05-05T02:00:00Z',
  comment: 'PostgreSQL 16 upgrade, CHG-1234',
};

const silence: Silence = {
  id: silenceId,
  matchers: { namespace: 'production', labels: { team: 'dba' } },
  startsAt: '2024-05-04T22:00:00.000Z',
  endsAt: '2024-05-05T02:00:00.000Z',
  comment: 'PostgreSQL 16 upgrade, CHG-1234',
  createdBy: { type: 'user', id: operatorUserId, name: 'grace@example.com' },
  createdAt: '2024-05-03T15:20:00.000Z',
  expiredAt: null,
  status: 'pending',
};

const listSilencesResponse: ListSilencesResponse = { items: [silence], nextCursor: null };

const expiredSilence: Silence = {
  ...silence,
  endsAt: '2024-05-05T00:40:00.000Z',
  expiredAt: '2024-05-05T00:40:00.000Z',
  status: 'expired',
};

const validationErrorBody: ApiErrorBody = {
  error: {
    code: 'validation_failed',
    message: 'The request body does not match the API contract.',
    details: [{ path: 'checkIns[0].runId', message: 'must be a UUID' }],
  },
};

export const apiExamples = {
  enrollRequest,
  enrollResponse,
  heartbeatRequest,
  heartbeatResponse,
  inventoryRequest,
  inventoryResponse,
  checkInBatchRequest,
  checkInBatchResponse,
  run,
  runDetail,
  listRunsResponse,
  agent,
  listAgentsResponse,
  bootstrapRequest,
  loginRequest,
  sessionResponse,
  logoutResponse,
  meResponse,
  createApiTokenRequest,
  createApiTokenResponse,
  listApiTokensResponse,
  apiTokenSummary,
  revokedApiToken,
  listUsersResponse,
  addUserRequest,
  addUserResponse,
  changeUserRoleRequest,
  changedUser,
  organizationUser,
  removeUserResponse,
  createEnrollmentTokenRequest,
  createEnrollmentTokenResponse,
  listEnrollmentTokensResponse,
  enrollmentTokenSummary,
  revokedEnrollmentToken,
  agentDetail,
  updateAgentRequest,
  revokeAgentRequest,
  revokedAgentDetail,
  reconcileReceipt,
  runJobRequest,
  runJobResponse,
  jobSummary,
  listJobsResponse,
  statsResponse,
  createOrganizationRequest,
  createdOrganization,
  listOrganizationsResponse,
  renameOrganizationRequest,
  renamedOrganization,
  switchOrganizationRequest,
  switchedSessionResponse,
  auditEntry,
  listAuditResponse,
  createNotificationChannelRequest,
  notificationChannel,
  listNotificationChannelsResponse,
  updateNotificationChannelRequest,
  updatedNotificationChannel,
  notificationDelivery,
  listNotificationDeliveriesResponse,
  testNotificationChannelResponse,
  incident,
  incidentDetail,
  listIncidentsResponse,
  acknowledgedIncident,
  resolveIncidentRequest,
  resolvedIncident,
  createSilenceRequest,
  silence,
  listSilencesResponse,
  expiredSilence,
  jobDetail,
  liveEventStream,
  validationErrorBody,
} as const;
