import type { Express } from 'express';
import { registerAuditRoutes } from '../audit/auditRoutes.js';
import type { AppContext } from '../http/appContext.js';
import { registerOrganizationRoutes } from '../organizations/organizationRoutes.js';
import { registerApiTokenRoutes } from './apiTokenRoutes.js';
import { registerSessionRoutes } from './sessionRoutes.js';
import { registerUserRoutes } from './userRoutes.js';

/**
 * Routes of this area: bootstrap, login/logout, me, personal API tokens, organization users,
 * organizations and the session's active one, and the audit log of who did what.
 */
export function registerAuthRoutes(app: Express, context: AppContext): void {
  registerSessionRoutes(app, context);
  registerApiTokenRoutes(app, context);
  registerUserRoutes(app, context);
  registerOrganizationRoutes(app, context);
  registerAuditRoutes(app, context);
}
