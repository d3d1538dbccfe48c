/**
 * `@cronfleet/core/contract`: the API's zod schemas and route table without the typed client.
 * What validates or stores contract shapes but never calls the API (the agent's state files, its
 * run wrapper) imports this: the client's HTTP stack costs a fifth of a second to load.
 */
export * from './fieldContract.js';
export * from './errorContract.js';
export * from './paginationContract.js';
export * from './agentContract.js';
export * from './agentCommandContract.js';
export * from './inventoryContract.js';
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
export * from './apiRouteDefinition.js';
export * from './apiRoutes.js';
