import { formatManifestError, type ManifestError } from '@cronfleet/core/manifest-errors';
import type { PlannedChange, ReconcilePlan } from '../reconcile/planReconcile.js';

/**
 * What `plan` and `sync --once` print: one block per job that changes, with the native text
 * before and after (`-`/`+`), the jobs kept at their last applied version, and the located
 * errors. The JSON form carries the same.
 */

export interface PlanReportJson {
  revision: string;
  scheduler: string;
  summary: Record<PlannedChange['action'], number>;
  changes: {
    action: PlannedChange['action'];
    id: string;
    reasons?: string[];
    before?: string;
    after?: string;
    reason?: string;
  }[];
  refused: string | null;
  errors: string[];
  notTargeted?: { id: string; reason: string }[];
}

export function summarize(plan: ReconcilePlan): PlanReportJson['summary'] {
  const summary = { add: 0, change: 0, remove: 0, unchanged: 0, retain: 0 };
  for (const change of plan.changes) summary[change.action] += 1;
  return summary;
}

export function planReportJson(
  revision: string,
  scheduler: string,
  plan: ReconcilePlan,
  errors: readonly ManifestError[],
  notTargeted?: { id: string; reason: string }[],
): PlanReportJson {
  return {
    revision,
    scheduler,
    summary: summarize(plan),
    changes: plan.changes.flatMap((change) => {
      switch (change.action) {
        case 'add':
          return { action: change.action, id: change.id, after: change.after.rendered };
        case 'change':
          return {
            action: change.action,
            id: change.id,
            reasons: change.reasons,
            before: change.before.rendered,
            after: change.after.rendered,
          };
        case 'remove':
          return { action: change.action, id: change.id, before: change.before.rendered };
        case 'retain':
          return {
            action: change.action,
            id: change.id,
            before: change.before.rendered,
            reason: change.reason,
          };
        case 'unchanged':
          return [];
      }
    }),
    refused: plan.refused,
    errors: errors.map(formatManifestError),
    ...(notTargeted === undefined ? {} : { notTargeted }),
  };
}

const reasonText: Record<string, string> = {
  spec: 'command or settings changed',
  schedule: 'native entry changed',
  drift: 'the scheduler no longer holds what was installed',
};

function indent(prefix: string, text: string): string[] {
  return text.split('\n').map((line) => `    ${prefix} ${line}`);
}

/** How many job ids `plan` names per reason, and how many reasons, before "and K more". */
const idsPerReason = 5;
const reasonsShown = 8;

/**
 * Why the jobs that are not for this agent are not: grouped by reason (the same label missing on
 * hundreds of jobs is one line), a few ids each. `plan --json` lists every one.
 */
export function notTargetedText(notTargeted: readonly { id: string; reason: string }[]): string[] {
  if (notTargeted.length === 0) return [];
  const byReason = new Map<string, string[]>();
  for (const { id, reason } of notTargeted) {
    const ids = byReason.get(reason) ?? [];
    ids.push(id);
    byReason.set(reason, ids);
  }
  const groups = [...byReason].sort(
    ([reasonA, idsA], [reasonB, idsB]) => idsB.length - idsA.length || (reasonA < reasonB ? -1 : 1),
  );
  const count = (n: number) => `${n} job${n === 1 ? '' : 's'}`;
  const lines = [`${count(notTargeted.length)} not for this agent:`];
  for (const [reason, ids] of groups.slice(0, reasonsShown)) {
    const named = ids.slice(0, idsPerReason).join(', ');
    const more = ids.length > idsPerReason ? ` and ${ids.length - idsPerReason} more` : '';
    lines.push(`  ${reason}: ${named}${more}`);
  }
  const rest = groups.slice(reasonsShown);
  if (rest.length > 0) {
    const jobs = rest.reduce((sum, [, ids]) => sum + ids.length, 0);
    lines.push(
      `  and ${count(jobs)} for ${rest.length} other reason${rest.length === 1 ? '' : 's'}`,
    );
  }
  if (groups.length > reasonsShown || groups.some(([, ids]) => ids.length > idsPerReason)) {
    lines.push('  (plan --json lists every job and its reason)');
  }
  return lines;
}

export function planReportText(report: PlanReportJson): string {
  const { summary } = report;
  const lines = [
    `Plan at ${report.revision.slice(0, 12)} (${report.scheduler}): ${summary.add} to add, ${summary.change} to change, ${summary.remove} to remove, ${summary.unchanged} unchanged` +
      (summary.retain > 0 ? `, ${summary.retain} kept at their last applied version` : ''),
  ];
  for (const change of report.changes) {
    if (change.action === 'add') {
      lines.push(`+ ${change.id}`, ...indent('+', change.after ?? ''));
    } else if (change.action === 'change') {
      lines.push(
        `~ ${change.id} (${(change.reasons ?? []).map((reason) => reasonText[reason] ?? reason).join('; ')})`,
      );
      if (change.before !== change.after) {
        lines.push(...indent('-', change.before ?? ''), ...indent('+', change.after ?? ''));
      }
    } else if (change.action === 'remove') {
      lines.push(`- ${change.id}`, ...indent('-', change.before ?? ''));
    } else if (change.action === 'retain') {
      lines.push(`! ${change.id} keeps its last applied version: ${change.reason ?? ''}`);
    }
  }
  if (report.refused !== null) lines.push(`Refused: ${report.refused}`);
  if (report.errors.length > 0) {
    lines.push(`${report.errors.length} error${report.errors.length === 1 ? '' : 's'}:`);
    lines.push(...report.errors.map((error) => `  ${error}`));
  }
  lines.push(...notTargetedText(report.notTargeted ?? []));
  return `${lines.join('\n')}\n`;
}
