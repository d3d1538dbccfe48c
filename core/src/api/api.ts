/**
 * `@cronfleet/core/api`: the contract between agents, CLI, dashboard and backend (zod schemas
 * and the route table) and the typed client built on it.
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
export * from './apiRouteDefinition.js';
export * from './apiRoutes.js';
export * from './apiClientErrors.js';
export * from './retryPolicy.js';
export * from './cronfleetClient.js';
export * from './apiExamples.js';
