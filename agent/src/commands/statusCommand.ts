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
  const entries = Object.values(inventory?.jobs ?? {}).sort((a, b) => (a.id < b.id ? -1 : 1));
  const specs = await store.readEntryRunSpecs(entries);
  for (const entry of entries) {
    const spec = specs.get(entry.id);
    if (spec instanceof Error) throw spec;
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
  // Whole messages: a ManifestInvalid message lists each located error on its own line. Ready and
  // Stalled usually carry the same one: it is printed once.
  const shown = new Set<string>();
  if (report.conditions.length > 0) {
    lines.push('Conditions:');
    const printedBy = new Map<string, string>();
    for (const condition of report.conditions) {
      const head = `  ${condition.type}=${condition.status} (${condition.reason})`;
      const earlier = printedBy.get(condition.message);
      if (condition.message === '') {
        lines.push(head);
      } else if (earlier !== undefined) {
        lines.push(`${head}: the message of ${earlier}`);
      } else {
        const [first, ...more] = condition.message.split('\n');
        lines.push(`${head}: ${first}`, ...more.map((line) => `      ${line}`));
        for (const line of more) shown.add(line);
        printedBy.set(condition.message, condition.type);
      }
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
  // The errors that no condition's message listed already.
  const errors = report.errors
    .map(
      (error) =>
        `${error.file}:${error.line ?? 1}:${error.column ?? 1}${error.job === null ? '' : ` [${error.job}]`}${error.path === null ? '' : ` ${error.path}:`} ${error.message}`,
    )
    .filter((text) => !shown.has(text));
  if (errors.length > 0) {
    lines.push(`Errors (${errors.length}):`, ...errors.map((text) => `  ${text}`));
  }
  context.io.stdout.write(`${lines.join('\n')}\n`);
  return 0;
};
