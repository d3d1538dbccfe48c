import type { Express } from 'express';
import type { AppContext } from '../http/appContext.js';
import { registerApiTokenRoutes } from './apiTokenRoutes.js';
import { registerSessionRoutes } from './sessionRoutes.js';
import { registerUserRoutes } from './userRoutes.js';

/** Routes of this area: bootstrap, login/logout, me, personal API tokens, organization users. */
export function registerAuthRoutes(app: Express, context: AppContext): void {
  registerSessionRoutes(app, context);
  registerApiTokenRoutes(app, context);
  registerUserRoutes(app, context);
}
