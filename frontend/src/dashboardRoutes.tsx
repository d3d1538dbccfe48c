import { createBrowserRouter, type RouteObject } from 'react-router';
import { LiveUpdates } from './api/liveUpdates.js';
import { AppLayout } from './layout/AppLayout.js';
import { RequireSession } from './layout/RequireSession.js';
import { AgentPage } from './pages/AgentPage.js';
import { AgentsPage } from './pages/AgentsPage.js';
import { IncidentPage } from './pages/IncidentPage.js';
import { IncidentsPage } from './pages/IncidentsPage.js';
import { JobPage } from './pages/JobPage.js';
import { SilencesPage } from './pages/SilencesPage.js';
import { JobsPage } from './pages/JobsPage.js';
import { NotFoundPage } from './pages/NotFoundPage.js';
import { OverviewPage } from './pages/OverviewPage.js';
import { RunPage } from './pages/RunPage.js';
import { RunsPage } from './pages/RunsPage.js';
import { SignInPage } from './pages/SignInPage.js';

/**
 * The dashboard's pages. A page's entry in `navigation` is added with the page, so the menu never
 * links to one that does not exist (settings come next: add the
 * route under the layout and its entry here).
 */
export const navigation: readonly { path: string; label: string }[] = [
  { path: '/', label: 'Overview' },
  { path: '/jobs', label: 'Jobs' },
  { path: '/runs', label: 'Runs' },
  { path: '/agents', label: 'Agents' },
  { path: '/incidents', label: 'Incidents' },
  { path: '/silences', label: 'Silences' },
];

export const dashboardRoutes: RouteObject[] = [
  { path: '/sign-in', element: <SignInPage /> },
  {
    path: '/',
    element: (
      <RequireSession>
        <LiveUpdates>
          <AppLayout />
        </LiveUpdates>
      </RequireSession>
    ),
    children: [
      { index: true, element: <OverviewPage /> },
      { path: 'jobs', element: <JobsPage /> },
      { path: 'jobs/:namespace/:name', element: <JobPage /> },
      { path: 'runs', element: <RunsPage /> },
      { path: 'runs/:runId', element: <RunPage /> },
      { path: 'agents', element: <AgentsPage /> },
      { path: 'agents/:agentId', element: <AgentPage /> },
      { path: 'incidents', element: <IncidentsPage /> },
      { path: 'incidents/:incidentId', element: <IncidentPage /> },
      { path: 'silences', element: <SilencesPage /> },
      { path: '*', element: <NotFoundPage /> },
    ],
  },
];

export function createDashboardRouter() {
  return createBrowserRouter(dashboardRoutes);
}
