import { apiRoutes } from '@cronfleet/core/api';
import type { Express } from 'express';
import type { AppContext } from '../http/appContext.js';
import { registerAgentCommandRoutes } from './agentCommandRoutes.js';
import { registerAgentManagementRoutes } from './agentManagementRoutes.js';
import { registerAgentProtocolRoutes } from './agentProtocolRoutes.js';
import { registerEnrollmentTokenRoutes } from './enrollmentTokenRoutes.js';
import { enrollmentRateLimit } from '../http/rateLimits.js';

/**
 * Routes of this area: enrollment tokens, enroll, heartbeat, inventory, agents
 * list/show/rename/relabel/revoke, and the reconcile-now and run-now requests.
 */
export function registerAgentRoutes(app: Express, context: AppContext): void {
  // Before the enroll route, so a limited call never reaches the database. Only failed attempts
  // count: a fleet enrolling behind one NAT address is never locked out by its own successes.
  app.post(apiRoutes.enroll.path, enrollmentRateLimit({ logger: context.logger }));
  registerAgentProtocolRoutes(app, context);
  registerEnrollmentTokenRoutes(app, context);
  registerAgentManagementRoutes(app, context);
  registerAgentCommandRoutes(app, context);
}
