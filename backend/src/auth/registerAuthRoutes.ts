import type { Express } from 'express';
import type { AppContext } from '../http/appContext.js';

/** Routes of this area: bootstrap, login/logout, me, personal API tokens, organization users. */
export function registerAuthRoutes(_app: Express, _context: AppContext): void {}
