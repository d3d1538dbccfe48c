import { NextRuns } from './NextRuns.js';

/** The dashboard shell. Agents, jobs and runs views arrive with the dashboard issue. */
export function App() {
  return (
    <main>
      <h1>Cronfleet</h1>
      <p>GitOps cron control plane: job manifests in Git, run by agents, watched here.</p>
      <NextRuns expression="*/15 9-17 * * MON-FRI" timezone="Europe/Berlin" from={new Date()} />
    </main>
  );
}
