import { QueryCache, QueryClient } from '@tanstack/react-query';
import { DashboardApiError } from './apiCall.js';

/** The key of the signed-in caller (`GET /api/v1/auth/me`); RequireSession reads it. */
export const meQueryKey = ['me'] as const;

/**
 * How often the pages poll when the live events stream (liveUpdates.tsx) is not open. TanStack
 * Query stops polling in a hidden tab.
 */
export const refreshIntervalMs = { overview: 15_000, jobs: 30_000, runs: 15_000, run: 5_000 };

export function createQueryClient(): QueryClient {
  const client: QueryClient = new QueryClient({
    queryCache: new QueryCache({
      onError: (error, query) => {
        // A session that ended (signed out elsewhere, expired, revoked) fails every query with
        // 401: ask who we are again, and RequireSession sends the viewer to the sign-in page.
        if (
          error instanceof DashboardApiError &&
          error.status === 401 &&
          query.queryKey[0] !== meQueryKey[0]
        ) {
          void client.invalidateQueries({ queryKey: meQueryKey });
        }
      },
    }),
    defaultOptions: {
      queries: {
        staleTime: 5_000,
        // A 4xx is an answer (not found, forbidden, a bad filter): show it, do not ask again.
        retry: (failures, error) =>
          failures < 2 &&
          !(error instanceof DashboardApiError && error.status >= 400 && error.status < 500),
      },
    },
  });
  return client;
}
