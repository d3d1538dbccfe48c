import type { MeResponse } from '@cronfleet/core/contract';
import { useQuery } from '@tanstack/react-query';
import { createContext, useContext, type ReactNode } from 'react';
import { Navigate, useLocation } from 'react-router';
import { callApi, DashboardApiError } from '../api/apiCall.js';
import { meQueryKey } from '../api/queryClient.js';
import { ErrorMessage } from '../components/ErrorMessage.js';

const SessionContext = createContext<MeResponse | null>(null);

/** The signed-in caller: user, active organization, role, permissions, organizations. */
export function useSession(): MeResponse {
  const session = useContext(SessionContext);
  if (session === null) throw new Error('useSession is used outside RequireSession');
  return session;
}

export function useMeQuery() {
  return useQuery({ queryKey: meQueryKey, queryFn: ({ signal }) => callApi('me', {}, signal) });
}

/** Renders its children for a signed-in caller; anyone else goes to the sign-in page and back. */
export function RequireSession(props: { children: ReactNode }) {
  const me = useMeQuery();
  const location = useLocation();
  if (me.isPending) return <p className="loading">Loading…</p>;
  if (me.isError) {
    if (me.error instanceof DashboardApiError && me.error.status === 401) {
      const next = `${location.pathname}${location.search}`;
      return (
        <Navigate
          to={`/sign-in${next === '/' ? '' : `?next=${encodeURIComponent(next)}`}`}
          replace
        />
      );
    }
    return (
      <main className="page">
        <ErrorMessage error={me.error} title="Could not load your session" />
      </main>
    );
  }
  return <SessionContext value={me.data}>{props.children}</SessionContext>;
}
