import type { Express } from 'express';
import type { AppContext } from '../http/appContext.js';

/** Routes of this area: enrollment tokens, enroll, heartbeat, inventory, agents list/show/rename/relabel/revoke. */
export function registerAgentRoutes(_app: Express, _context: AppContext): void {}
