import { defineRoute } from './apiRouteDefinition.js';
import { ListJobsQuery, ListJobsResponse, StatsResponse } from './runContract.js';

/** Routes of API v1: The jobs view and the stats overview. Merged into apiRoutes. */
export const runQueryRoutes = {
  listJobs: defineRoute({
    name: 'listJobs',
    method: 'GET',
    path: '/api/v1/jobs',
    auth: 'user',
    permission: 'read',
    idempotent: true,
    summary:
      'List jobs (one row per namespace/name across agents) with schedule, next and last run, 7-day success rate and durations.',
    successStatus: 200,
    query: ListJobsQuery,
    response: ListJobsResponse,
  }),
  getStats: defineRoute({
    name: 'getStats',
    method: 'GET',
    path: '/api/v1/stats',
    auth: 'user',
    permission: 'read',
    idempotent: true,
    summary: 'Overview: agents by status, jobs by health, runs by outcome per hour over 24 hours.',
    successStatus: 200,
    response: StatsResponse,
  }),
} as const;
