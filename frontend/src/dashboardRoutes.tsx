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
 * links to one that does not exist. Settings has its own menu (pages/settings/settingsSections.ts).
 */
export const navigation: readonly { path: string; label: string }[] = [
  { path: '/', label: 'Overview' },
  { path: '/jobs', label: 'Jobs' },
  { path: '/runs', label: 'Runs' },
  { path: '/agents', label: 'Agents' },
  { path: '/incidents', label: 'Incidents' },
  { path: '/silences', label: 'Silences' },
  { path: '/settings', label: 'Settings' },
];

/**
 * The settings pages are loaded when first opened (their own chunk and stylesheet): most visits
 * never need them, and the first download stays small.
 */
const settingsRoutes: RouteObject = {
  path: 'settings',
  lazy: async () => ({
    Component: (await import('./pages/settings/SettingsLayout.js')).SettingsLayout,
  }),
  children: [
    { index: true, element: null },
    {
      path: 'api-tokens',
      lazy: async () => ({
        Component: (await import('./pages/settings/ApiTokensPage.js')).ApiTokensPage,
      }),
    },
    {
      path: 'enrollment-tokens',
      lazy: async () => ({
        Component: (await import('./pages/settings/EnrollmentTokensPage.js')).EnrollmentTokensPage,
      }),
    },
    {
      path: 'users',
      lazy: async () => ({ Component: (await import('./pages/settings/UsersPage.js')).UsersPage }),
    },
    {
      path: 'notification-channels',
      lazy: async () => ({
        Component: (await import('./pages/settings/NotificationChannelsPage.js'))
          .NotificationChannelsPage,
      }),
    },
    {
      path: 'audit',
      lazy: async () => ({
        Component: (await import('./pages/settings/AuditLogPage.js')).AuditLogPage,
      }),
    },
  ],
};

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
      settingsRoutes,
      { path: '*', element: <NotFoundPage /> },
    ],
  },
];

export function createDashboardRouter() {
  return createBrowserRouter(dashboardRoutes);
}
