import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useId } from 'react';
import { NavLink, Outlet, useNavigate } from 'react-router';
import { callApi } from '../api/apiCall.js';
import { useLiveMode } from '../api/liveUpdates.js';
import { refreshIntervalMs } from '../api/queryClient.js';
import { ErrorMessage } from '../components/ErrorMessage.js';
import { navigation } from '../dashboardRoutes.js';
import { useSession } from './RequireSession.js';

/** Every signed-in page: navigation, the organization switcher, who is signed in, sign out. */
export function AppLayout() {
  const session = useSession();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const organizationSelectId = useId();

  const switchOrganization = useMutation({
    mutationFn: (organizationId: string) =>
      callApi('switchOrganization', { body: { organizationId } }),
    onSuccess: async () => {
      // Everything cached belongs to the old organization.
      queryClient.clear();
      await navigate('/');
    },
  });
  const signOut = useMutation({
    mutationFn: () => callApi('logout', {}),
    onSuccess: async () => {
      queryClient.clear();
      await navigate('/sign-in');
    },
  });

  return (
    <>
      <a className="skip-link" href="#content">
        Skip to content
      </a>
      <header className="top-bar">
        <div className="brand">Cronfleet</div>
        <nav aria-label="Main">
          <ul>
            {navigation.map((entry) => (
              <li key={entry.path}>
                <NavLink to={entry.path} end={entry.path === '/'}>
                  {entry.label}
                </NavLink>
              </li>
            ))}
          </ul>
        </nav>
        <div className="session">
          <LiveIndicator />
          {session.organizations.length > 1 ? (
            <span className="field-inline">
              <label htmlFor={organizationSelectId}>Organization</label>
              <select
                id={organizationSelectId}
                value={session.organization.id}
                disabled={switchOrganization.isPending || session.via !== 'session'}
                onChange={(event) => switchOrganization.mutate(event.target.value)}
              >
                {session.organizations.map((organization) => (
                  <option key={organization.id} value={organization.id}>
                    {organization.name} ({organization.role})
                  </option>
                ))}
              </select>
            </span>
          ) : (
            <span className="muted" title="Organization">
              {session.organization.name}
            </span>
          )}
          <span className="user" title={session.user.email}>
            {session.user.name === '' ? session.user.email : session.user.name} · {session.role}
          </span>
          <button type="button" onClick={() => signOut.mutate()} disabled={signOut.isPending}>
            Sign out
          </button>
        </div>
      </header>
      {switchOrganization.isError ? (
        <ErrorMessage error={switchOrganization.error} title="Could not switch organization" />
      ) : null}
      {signOut.isError ? <ErrorMessage error={signOut.error} title="Could not sign out" /> : null}
      <main id="content" className="page" tabIndex={-1}>
        <Outlet />
      </main>
    </>
  );
}

/** Whether the pages update live (the events stream is open) or poll. */
function LiveIndicator() {
  const mode = useLiveMode();
  return (
    <span
      className={`live-indicator ${mode}`}
      data-testid="live-mode"
      title={
        mode === 'live'
          ? 'Runs, agents and incidents update as they happen (live events).'
          : `The live events stream is not open: the pages refresh every ${refreshIntervalMs.overview / 1000}–${refreshIntervalMs.jobs / 1000} s.`
      }
    >
      {mode === 'live' ? '● Live' : '○ Polling'}
    </span>
  );
}
