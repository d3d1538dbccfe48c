/**
 * `@cronfleet/core/contract`: the API's zod schemas and route table without the typed client.
 * What validates or stores contract shapes but never calls the API (the agent's state files, its
 * run wrapper) imports this: the client's HTTP stack costs a fifth of a second to load.
 */
export {
  API_BASE_PATH,
  IsoDateTime,
  JobName,
  JobRef,
  LabelKey,
  LabelSelector,
  LabelValue,
  Labels,
  Namespace,
  NotificationChannelName,
  Revision,
  SemVer,
  Sha256Hex,
  TimeFilter,
  Uuid,
  singleLineText,
} from './fieldContract.js';
export * from './errorContract.js';
export * from './paginationContract.js';
export * from './agentContract.js';
export * from './agentCommandContract.js';
export {
  ConcurrencyPolicy,
  InventoryJob,
  InventoryRequest,
  InventoryResponse,
  InventoryWarning,
  JobMonitoring,
  MAX_INVENTORY_JOBS,
  MAX_INVENTORY_WARNINGS,
  MAX_NOTIFY_CHANNELS,
  MAX_STORED_INTEGER,
  RepositoryPath,
  ScheduleExpression,
  SchedulerBackendName,
  TimeZoneName,
  UnmanagedEntry,
} from './inventoryContract.js';
export * from './checkInContract.js';
export * from './runContract.js';
export * from './authContract.js';
export {
  CreateOrganizationRequest,
  ListOrganizationsResponse,
  OrganizationMembership,
  OrganizationPathParams,
  RenameOrganizationRequest,
  SwitchOrganizationRequest,
} from './organizationContract.js';
export {
  AuditActionFilter,
  AuditActorType,
  AuditEntry,
  ListAuditQuery,
  ListAuditResponse,
} from './auditContract.js';
export {
  CreateNotificationChannelRequest,
  DeletedNotificationChannel,
  ListNotificationChannelsResponse,
  ListNotificationDeliveriesQuery,
  ListNotificationDeliveriesResponse,
  NotificationChannel,
  NotificationChannelConfig,
  NotificationChannelKind,
  NotificationChannelPathParams,
  NotificationDelivery,
  NotificationDeliveryAttempt,
  NotificationDeliveryStatus,
  TestNotificationChannelResponse,
  UpdateNotificationChannelRequest,
  notificationChannelKinds,
} from './notificationChannelContract.js';
export {
  Incident,
  IncidentActor,
  IncidentDetail,
  IncidentEvent,
  IncidentEventType,
  IncidentKind,
  IncidentPathParams,
  IncidentStatus,
  ListIncidentsQuery,
  ListIncidentsResponse,
  ResolveIncidentRequest,
  commentText,
  incidentKinds,
} from './incidentContract.js';
export {
  CreateSilenceRequest,
  ListSilencesQuery,
  ListSilencesResponse,
  MAX_SILENCE_DAYS,
  MAX_SILENCE_LABELS,
  Silence,
  SilenceMatchers,
  SilencePathParams,
  SilenceStatus,
} from './silenceContract.js';
export { JobDetail, JobFireTime, JobInstanceDetail, JobPathParams } from './jobDetailContract.js';
export {
  AgentLiveEvent,
  IncidentLiveAction,
  IncidentLiveEvent,
  LiveEventStream,
  RefetchLiveEvent,
  RunLiveEvent,
  liveEventNames,
  liveEventSchemas,
  parseLiveEvent,
  type LiveEvent,
  type LiveEventName,
} from './liveEventContract.js';
export * from './apiRouteDefinition.js';
export * from './apiRoutes.js';
