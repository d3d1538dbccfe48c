import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import {
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
import { AgentCommandReceipt, RunJobRequest, RunJobResponse } from './agentCommandContract.js';
import { apiExamples } from './apiExamples.js';
import { JobDetail } from './jobDetailContract.js';
import { LiveEventStream, parseLiveEvent } from './liveEventContract.js';
import { apiRoutes } from './apiRoutes.js';
import {
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
import { AuditEntry, ListAuditResponse } from './auditContract.js';
import { CheckInBatchRequest, CheckInBatchResponse } from './checkInContract.js';
import {
  CreateOrganizationRequest,
  ListOrganizationsResponse,
  OrganizationMembership,
  RenameOrganizationRequest,
  SwitchOrganizationRequest,
} from './organizationContract.js';
import { ApiErrorBody, ValidationErrorDetails } from './errorContract.js';
import {
  CreateNotificationChannelRequest,
  ListNotificationChannelsResponse,
  ListNotificationDeliveriesResponse,
  NotificationChannel,
  NotificationDelivery,
  TestNotificationChannelResponse,
  UpdateNotificationChannelRequest,
} from './notificationChannelContract.js';
import {
  Incident,
  IncidentDetail,
  ListIncidentsResponse,
  ResolveIncidentRequest,
} from './incidentContract.js';
import { InventoryRequest, InventoryResponse } from './inventoryContract.js';
import {
  JobSummary,
  ListJobsResponse,
  ListRunsResponse,
  Run,
  RunDetail,
  StatsResponse,
} from './runContract.js';
import { CreateSilenceRequest, ListSilencesResponse, Silence } from './silenceContract.js';

const schemaOf: Record<keyof typeof apiExamples, z.ZodType> = {
  enrollRequest: EnrollRequest,
  enrollResponse: EnrollResponse,
  heartbeatRequest: HeartbeatRequest,
  heartbeatResponse: HeartbeatResponse,
  inventoryRequest: InventoryRequest,
  inventoryResponse: InventoryResponse,
  checkInBatchRequest: CheckInBatchRequest,
  checkInBatchResponse: CheckInBatchResponse,
  run: Run,
  runDetail: RunDetail,
  listRunsResponse: ListRunsResponse,
  agent: Agent,
  listAgentsResponse: ListAgentsResponse,
  bootstrapRequest: BootstrapRequest,
  loginRequest: LoginRequest,
  sessionResponse: SessionResponse,
  logoutResponse: LogoutResponse,
  meResponse: MeResponse,
  createApiTokenRequest: CreateApiTokenRequest,
  createApiTokenResponse: CreateApiTokenResponse,
  listApiTokensResponse: ListApiTokensResponse,
  apiTokenSummary: ApiTokenSummary,
  revokedApiToken: ApiTokenSummary,
  listUsersResponse: ListUsersResponse,
  addUserRequest: AddUserRequest,
  addUserResponse: AddUserResponse,
  changeUserRoleRequest: ChangeUserRoleRequest,
  changedUser: OrganizationUser,
  organizationUser: OrganizationUser,
  removeUserResponse: RemoveUserResponse,
  createEnrollmentTokenRequest: CreateEnrollmentTokenRequest,
  createEnrollmentTokenResponse: CreateEnrollmentTokenResponse,
  listEnrollmentTokensResponse: ListEnrollmentTokensResponse,
  enrollmentTokenSummary: EnrollmentTokenSummary,
  revokedEnrollmentToken: EnrollmentTokenSummary,
  agentDetail: AgentDetail,
  updateAgentRequest: UpdateAgentRequest,
  revokeAgentRequest: RevokeAgentRequest,
  revokedAgentDetail: AgentDetail,
  reconcileReceipt: AgentCommandReceipt,
  runJobRequest: RunJobRequest,
  runJobResponse: RunJobResponse,
  jobSummary: JobSummary,
  listJobsResponse: ListJobsResponse,
  statsResponse: StatsResponse,
  createOrganizationRequest: CreateOrganizationRequest,
  createdOrganization: OrganizationMembership,
  listOrganizationsResponse: ListOrganizationsResponse,
  renameOrganizationRequest: RenameOrganizationRequest,
  renamedOrganization: OrganizationMembership,
  switchOrganizationRequest: SwitchOrganizationRequest,
  switchedSessionResponse: SessionResponse,
  auditEntry: AuditEntry,
  listAuditResponse: ListAuditResponse,
  createNotificationChannelRequest: CreateNotificationChannelRequest,
  notificationChannel: NotificationChannel,
  listNotificationChannelsResponse: ListNotificationChannelsResponse,
  updateNotificationChannelRequest: UpdateNotificationChannelRequest,
  updatedNotificationChannel: NotificationChannel,
  notificationDelivery: NotificationDelivery,
  listNotificationDeliveriesResponse: ListNotificationDeliveriesResponse,
  testNotificationChannelResponse: TestNotificationChannelResponse,
  incident: Incident,
  incidentDetail: IncidentDetail,
  listIncidentsResponse: ListIncidentsResponse,
  acknowledgedIncident: Incident,
  resolveIncidentRequest: ResolveIncidentRequest,
  resolvedIncident: Incident,
  createSilenceRequest: CreateSilenceRequest,
  silence: Silence,
  listSilencesResponse: ListSilencesResponse,
  expiredSilence: Silence,
  jobDetail: JobDetail,
  liveEventStream: LiveEventStream,
  validationErrorBody: ApiErrorBody,
};

const exampledSchemas = new Set<z.ZodType>(Object.values(schemaOf));

describe('apiExamples', () => {
  for (const [name, example] of Object.entries(apiExamples)) {
    it(`${name} survives a JSON round trip through its schema unchanged`, () => {
      const schema = schemaOf[name as keyof typeof apiExamples];
      const wire: unknown = JSON.parse(JSON.stringify(example));
      expect(schema.parse(wire)).toEqual(example);
    });
  }

  describe('covers every route', () => {
    for (const route of Object.values(apiRoutes)) {
      it(`has an example of the body and the response of ${route.name}`, () => {
        const missing: string[] = [];
        if ('body' in route && !exampledSchemas.has(route.body)) missing.push('body');
        if (!exampledSchemas.has(route.response)) missing.push('response');
        // Add the example to apiExamples.ts and its schema to schemaOf above.
        expect(missing, `${route.name} has no example of its ${missing.join(' and ')}`).toEqual([]);
      });
    }
  });

  it('shows a live events stream whose messages parse with their schemas', () => {
    const messages = apiExamples.liveEventStream
      .split('\n\n')
      .filter((block) => block.startsWith('id:'));
    expect(messages).toHaveLength(2);
    for (const block of messages) {
      const field = (name: string) =>
        block
          .split('\n')
          .find((line) => line.startsWith(`${name}: `))
          ?.slice(name.length + 2) ?? '';
      expect(parseLiveEvent(field('id'), field('event'), field('data'))).not.toBeNull();
    }
  });

  it('shows validation details in the documented shape', () => {
    expect(
      ValidationErrorDetails.parse(apiExamples.validationErrorBody.error.details),
    ).toHaveLength(1);
  });

  it('drops unknown fields, so a newer peer may add fields', () => {
    const parsed = HeartbeatResponse.parse({ ...apiExamples.heartbeatResponse, extra: 1 });
    expect(parsed).toEqual(apiExamples.heartbeatResponse);
  });
});
