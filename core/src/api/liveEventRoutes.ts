import { defineRoute } from './apiRouteDefinition.js';
import { LiveEventStream } from './liveEventContract.js';

/** Routes of API v1: the dashboard's live events. Merged into apiRoutes. */
export const liveEventRoutes = {
  streamEvents: defineRoute({
    name: 'streamEvents',
    method: 'GET',
    path: '/api/v1/events',
    auth: 'user',
    permission: 'read',
    idempotent: true,
    summary:
      "Live events of the caller's organization as Server-Sent Events (runs, agents, incidents); resumes with Last-Event-ID.",
    successStatus: 200,
    responseContentType: 'text/event-stream',
    response: LiveEventStream,
  }),
} as const;
