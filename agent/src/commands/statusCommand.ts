import { AgentStateStore } from '../state/agentStateStore.js';
import { writeJson, type Command } from './commandContext.js';

/**
 * `cronfleet-agent status [--json]`: the installed jobs (from the inventory and their run specs),
 * the revisions, the conditions and the errors of the last reconcile. Reads the state directory
 * only: it works while the daemon runs and without a backend.
 */
export const statusCommand: Command = async (context) => {
  const store = new AgentStateStore(context.config.stateDir);
  const inventory = await store.readInventory();
  const status = await store.readStatus();
  const jobs = [];
  for (const entry of Object.values(inventory?.jobs ?? {}).sort((a, b) => (a.id < b.id ? -1 : 1))) {
    const spec = await store.readRunSpec(entry.namespace, entry.name, entry.revision);
    jobs.push({
      id: entry.id,
      schedule: spec?.schedule ?? null,
      timezone: spec?.timezone ?? null,
      native: entry.job.schedule,
      suspended: entry.job.suspended,
      revision: entry.revision,
      sourcePath: entry.sourcePath,
      rendered: entry.rendered,
    });
  }
  const report = {
    stateDir: context.config.stateDir,
    scheduler: inventory?.scheduler ?? null,
    lastAppliedRevision: status.lastAppliedRevision,
    lastAttemptedRevision: status.lastAttemptedRevision,
    lastSyncAt: status.lastSyncAt,
    conditions: status.conditions,
    errors: status.errors,
    failure: status.failure,
    jobs,
  };
  if (context.json) {
    writeJson(context, report);
    return 0;
  }
  const short = (revision: string | null) => (revision === null ? 'none' : revision.slice(0, 12));
  const lines = [
    `State directory: ${report.stateDir}`,
    `Scheduler: ${report.scheduler ?? 'nothing installed yet'}`,
    `Revision: applied ${short(report.lastAppliedRevision)}, last attempted ${short(report.lastAttemptedRevision)}` +
      (report.lastSyncAt === null ? '' : `, last sync ${report.lastSyncAt}`),
  ];
  if (report.conditions.length > 0) {
    lines.push('Conditions:');
    for (const condition of report.conditions) {
      lines.push(
        `  ${condition.type}=${condition.status} (${condition.reason})${condition.message === '' ? '' : `: ${condition.message.split('\n')[0]}`}`,
      );
    }
  }
  if (report.failure?.kind === 'transient') {
    lines.push(
      `Next attempt: ${report.failure.nextAttemptAt} (attempt ${report.failure.attempts})`,
    );
  }
  lines.push(`Jobs (${jobs.length}):`);
  for (const job of jobs) {
    lines.push(
      `  ${job.id}  ${job.schedule ?? '?'} (${job.timezone ?? '?'})  rev ${job.revision.slice(0, 12)}${job.suspended ? '  suspended' : ''}`,
    );
  }
  if (report.errors.length > 0) {
    lines.push(`Errors (${report.errors.length}):`);
    for (const error of report.errors) {
      lines.push(
        `  ${error.file}:${error.line ?? 1}:${error.column ?? 1}${error.job === null ? '' : ` [${error.job}]`}${error.path === null ? '' : ` ${error.path}:`} ${error.message}`,
      );
    }
  }
  context.io.stdout.write(`${lines.join('\n')}\n`);
  return 0;
};
