import type { Express } from 'express';
import type { AppContext } from '../http/appContext.js';

/** Routes of this area: check-ins, runs list/show, jobs view, stats. */
export function registerRunRoutes(_app: Express, _context: AppContext): void {}
