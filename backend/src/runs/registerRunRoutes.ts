import { apiRoutes } from '@cronfleet/core/api';
import type { Express } from 'express';
import type { AppContext } from '../http/appContext.js';
import { mountLeanRoute, mountRoute } from '../http/mountRoute.js';
import { recordCheckInsIngested } from '../operations/metrics.js';
import { CheckInCommitter } from './checkInCommitter.js';
import { getJobDetail } from './jobDetail.js';
import { listJobs } from './listJobs.js';
import { getRun, listRuns, RunSearches } from './listRuns.js';
import { summarizeStats } from './summarizeStats.js';

/** Routes of this area: check-ins, runs list/show, jobs view and job detail, stats. */
export function registerRunRoutes(app: Express, context: AppContext): void {
  const { database } = context;

  const checkIns = new CheckInCommitter(database, context.now);
  mountLeanRoute(app, context, apiRoutes.sendCheckIns, async ({ principal, body }) => {
    const result = await checkIns.submit(principal, body.checkIns);
    recordCheckInsIngested(context, result);
    return result;
  });

  // A quarter of the pool for text searches, so check-ins always find a connection.
  const searches = new RunSearches(
    context.config.runSearchTimeoutMs,
    Math.floor(context.config.databasePoolSize / 4),
  );
  mountRoute(app, context, apiRoutes.listRuns, ({ principal, query }) =>
    listRuns(database, principal.organizationId, query, searches),
  );

  mountRoute(app, context, apiRoutes.getRun, ({ principal, params }) =>
    getRun(database, principal.organizationId, params.runId),
  );

  mountRoute(app, context, apiRoutes.listJobs, ({ principal, query }) =>
    listJobs(database, principal.organizationId, query, context.now()),
  );

  mountRoute(app, context, apiRoutes.getJob, ({ principal, params }) =>
    getJobDetail(database, principal.organizationId, params, context.now()),
  );

  mountRoute(app, context, apiRoutes.getStats, ({ principal }) =>
    summarizeStats(database, principal.organizationId, context.now()),
  );
}
