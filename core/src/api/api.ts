/**
 * `@cronfleet/core/api`: the contract between agents, CLI, dashboard and backend (zod schemas
 * and the route table) and the typed client built on it.
 */
export * from './contract.js';
export * from './apiClientErrors.js';
export * from './retryPolicy.js';
export * from './cronfleetClient.js';
export * from './apiExamples.js';
