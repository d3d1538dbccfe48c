import type { JobHealth } from '@cronfleet/core/api';
import { sql, type SQL } from 'drizzle-orm';

/**
 * How job health is shown (the jobs view and the overview): an instance with a problem whose open
 * incidents a silence covers, all of them, is `silenced`; a job as a whole has the health of its
 * worst instance.
 */

/** Worst first. */
export const healthRank: Record<JobHealth, number> = {
  failing: 7,
  overrun: 6,
  missed: 5,
  unknown: 4,
  silenced: 3,
  up: 2,
  new: 1,
  suspended: 0,
};

export const healthByRank = Object.fromEntries(
  Object.entries(healthRank).map(([health, rank]) => [rank, health as JobHealth]),
) as Record<number, JobHealth>;

/** The worst of several healths (suspended for none). */
export function worstHealth(healths: Iterable<JobHealth>): JobHealth {
  let worst: JobHealth = 'suspended';
  for (const health of healths) if (healthRank[health] > healthRank[worst]) worst = health;
  return worst;
}

/**
 * The shown health of the job instance aliased `ji`, as SQL text: `suspended` as soon as its
 * inventory says so, `silenced` for a problem whose open incidents are all silenced, else the
 * health the worker stored.
 */
export function shownInstanceHealth(): SQL {
  const openIncidents = (extra: SQL) => sql`select 1 from incidents i
    where i.organization_id = ji.organization_id and i.agent_id = ji.agent_id
      and i.namespace = ji.namespace and i.name = ji.name and i.resolved_at is null ${extra}`;
  return sql`case when ji.suspended then 'suspended'
    when ji.health in ('missed', 'failing', 'overrun')
      and exists (${openIncidents(sql``)})
      and not exists (${openIncidents(sql`and i.silence_id is null`)})
    then 'silenced' else ji.health::text end`;
}

/** The rank of the shown health of the instance aliased `ji`, as SQL (see healthRank). */
export function shownInstanceHealthRank(): SQL {
  const cases = Object.entries(healthRank).map(
    ([health, rank]) => sql`when ${sql.raw(`'${health}'`)} then ${sql.raw(String(rank))}`,
  );
  return sql`case ${shownInstanceHealth()} ${sql.join(cases, sql` `)} end`;
}
