import { useQuery } from '@tanstack/react-query';
import { callApi } from '../api/apiCall.js';

/** What the keyset-paged lists (runs, incidents, agents, silences) share. */

/**
 * Links of a keyset-paged list whose filters and cursor live in the URL: the page after
 * `nextCursor`, and the first page (the list's own path when no filter is set).
 */
export function keysetPageLinks(searchParams: URLSearchParams, listPath: string) {
  return {
    withCursor(nextCursor: string): string {
      const params = new URLSearchParams(searchParams);
      params.set('cursor', nextCursor);
      return `?${params.toString()}`;
    },
    firstPage(): string {
      const params = new URLSearchParams(searchParams);
      params.delete('cursor');
      const text = params.toString();
      return text === '' ? listPath : `?${text}`;
    },
  };
}

/** The organization's agents (up to 200) for an agent filter or matcher: one cached query. */
export function useAgentChoices() {
  return useQuery({
    queryKey: ['agents', 'for-filter'],
    queryFn: ({ signal }) => callApi('listAgents', { query: { limit: 200 } }, signal),
    staleTime: 60_000,
  });
}
