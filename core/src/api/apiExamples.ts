import type {
  Agent,
  EnrollRequest,
  EnrollResponse,
  HeartbeatRequest,
  HeartbeatResponse,
  ListAgentsResponse,
} from './agentContract.js';
import type { CheckInBatchRequest, CheckInBatchResponse } from './checkInContract.js';
import type { ApiErrorBody } from './errorContract.js';
import type { InventoryRequest, InventoryResponse } from './inventoryContract.js';
import type { ListRunsResponse, Run, RunDetail } from './runContract.js';

/**
 * One valid example of each request and response: the documentation and the OpenAPI document
 * show them, and tests of the client and the backend start from them.
 */

const revision = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';
const agentId = '0b6f1c1e-5d2a-4c3b-9f5e-8a7d6c5b4a39';
const runId = '3f1c2a9e-8d4b-4f0e-9a61-2b7c5d8e9f10';

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
};

const heartbeatResponse: HeartbeatResponse = {
  heartbeatIntervalSeconds: 30,
  commands: [
    { type: 'reconcile' },
    {
      type: 'run',
      namespace: 'production',
      name: 'nightly-db-backup',
      requestId: '9e2d1c4b-7a6f-4e3d-8c2b-1a0f9e8d7c6b',
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
      monitoring: { graceSeconds: 600, maxRuntimeSeconds: 10_800, alertAfter: 2 },
      concurrencyPolicy: 'Forbid',
      scheduler: 'cron-d',
    },
  ],
  unmanaged: [{ schedule: '*/5 * * * *', command: '/usr/local/bin/legacy-sync.sh' }],
};

const inventoryResponse: InventoryResponse = { jobCount: 1, unmanagedCount: 1 };

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
  conditions: heartbeatRequest.conditions,
  lastAppliedRevision: revision,
  lastAttemptedRevision: revision,
  repository: heartbeatRequest.repository,
  createdAt: '2024-04-02T09:30:00.000Z',
};

const listAgentsResponse: ListAgentsResponse = { items: [agent], nextCursor: null };

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
  validationErrorBody,
} as const;
