import { apiRoutes } from '@cronfleet/core/api';
import type { Express } from 'express';
import type { AppContext } from '../http/appContext.js';
import { registerAgentManagementRoutes } from './agentManagementRoutes.js';
import { registerAgentProtocolRoutes } from './agentProtocolRoutes.js';
import { createEnrollmentRateLimiter } from './enrollmentRateLimit.js';
import { registerEnrollmentTokenRoutes } from './enrollmentTokenRoutes.js';

/** Routes of this area: enrollment tokens, enroll, heartbeat, inventory, agents list/show/rename/relabel/revoke. */
export function registerAgentRoutes(app: Express, context: AppContext): void {
  // Before the enroll route, so a limited call never reaches the database.
  app.post(apiRoutes.enroll.path, createEnrollmentRateLimiter());
  registerEnrollmentTokenRoutes(app, context);
  registerAgentProtocolRoutes(app, context);
  registerAgentManagementRoutes(app, context);
}
