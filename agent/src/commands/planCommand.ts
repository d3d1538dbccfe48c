import path from 'node:path';
import { simpleGit } from 'simple-git';
import { createAgentRuntime } from '../agentRuntime.js';
import type { JobSource } from '../reconcile/reconciler.js';
import { isDirectory, writeJson, type Command } from './commandContext.js';
import { planReportJson, planReportText } from './planReport.js';

/** A folder read as it is (a developer's checkout): its HEAD commit names the revision. */
export function localDirectorySource(directory: string): JobSource {
  return {
    fetch: async () => {
      const workTree = path.resolve(directory);
      let revision = 'working-tree';
      try {
        const git = simpleGit(workTree);
        if (await git.checkIsRepo()) {
          revision = (await git.revparse(['HEAD'])).trim();
          if (!(await git.status()).isClean()) revision += '+local-changes';
        }
      } catch {
        // Not a Git work tree (or no commit yet): the files are planned as they are.
      }
      return { revision, workTree };
    },
  };
}

/**
 * `cronfleet-agent plan [--repo DIR]`: what a sync would change, with the rendered entries.
 * Changes nothing (the configured repository's checkout may be fetched). Exit 0 when nothing
 * would change, 1 when something would (or is refused, or a manifest is broken), 2 on error.
 */
export const planCommand: Command = async (context) => {
  const local = (await isDirectory(context.repoFlag)) ? context.repoFlag : undefined;
  const runtime = await createAgentRuntime(context.config, {
    logger: context.logger,
    environment: context.io.environment,
    ...(local === undefined ? {} : { source: localDirectorySource(local) }),
  });
  const preview = await runtime.reconciler.preview();
  const report = planReportJson(
    preview.revision,
    runtime.backend.name,
    preview.plan,
    preview.errors,
    preview.notTargeted,
  );
  if (context.json) writeJson(context, report);
  else context.io.stdout.write(planReportText(report));
  const changes = report.changes.some((change) => change.action !== 'retain');
  return changes || report.refused !== null || report.errors.length > 0 ? 1 : 0;
};
