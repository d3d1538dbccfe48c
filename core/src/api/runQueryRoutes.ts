import { defineRoute } from './apiRouteDefinition.js';
import { JobDetail, JobPathParams } from './jobDetailContract.js';
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
  getJob: defineRoute({
    name: 'getJob',
    method: 'GET',
    path: '/api/v1/jobs/:namespace/:name',
    auth: 'user',
    permission: 'read',
    idempotent: true,
    summary:
      'Get one job: its summary as the jobs list has it, each instance with its agent, schedule, source and monitoring settings, the next 10 fire times with daylight-saving notes, and its open incidents.',
    successStatus: 200,
    params: JobPathParams,
    response: JobDetail,
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
