import type { SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../db/database.js';
import { liveEventsChannel } from './liveEventChannel.js';
import { LiveEventHub, type LiveEventEntry } from './liveEventHub.js';

const organization = '11111111-1111-4111-8111-111111111111';
const otherOrganization = '22222222-2222-4222-8222-222222222222';
const dialect = new PgDialect();

/**
 * A hub on a stand-in database: notifications are sent by hand, and the rows it reads for a run
 * notification are made up from the ids (a run of the organization the notification names).
 */
function hubOn(options: { maxEvents?: number; maxAgeMs?: number } = {}) {
  let now = 1_000_000;
  let deliver: (payload: string) => void = () => {};
  let relisten: () => void = () => {};
  const database = {
    driver: 'postgres',
    listen: async (channel: string, onMessage: (payload: string) => void, onListen: () => void) => {
      expect(channel).toBe(liveEventsChannel);
      deliver = onMessage;
      relisten = onListen;
      onListen();
      return async () => {};
    },
    rows: async (query: SQL) => {
      // The ids travel as the statement's one parameter (jsonb_to_recordset).
      const [keys] = dialect.sqlToQuery(query).params as [string];
      const pairs = JSON.parse(keys) as { o: string; id: string }[];
      return pairs.map(({ o, id }) => ({
        organization_id: o,
        run_id: id,
        namespace: 'ns',
        name: 'job',
        agent_id: '33333333-3333-4333-8333-333333333333',
        status: 'running',
        started_at: new Date(now).toISOString(),
        finished_at: null,
      }));
    },
  } as unknown as DatabaseHandle;
  const hub = new LiveEventHub(database, pino({ level: 'silent' }), () => new Date(now), {
    ...options,
    clock: () => now,
  });
  const runs = async (organizationId: string, ...ids: string[]) => {
    deliver(JSON.stringify({ k: 'run', i: ids.map((id) => [organizationId, id]) }));
    // Notifications are handled in order, one at a time: let them run.
    for (let turn = 0; turn < 10; turn += 1) await new Promise((resolve) => setImmediate(resolve));
  };
  return {
    hub,
    runs,
    relisten: () => relisten(),
    advance: (ms: number) => {
      now += ms;
    },
  };
}

const runIdOf = (entry: LiveEventEntry) => (JSON.parse(entry.data) as { runId: string }).runId;

describe('LiveEventHub', () => {
  it("delivers an organization's events to its subscribers only, with increasing ids", async () => {
    const { hub, runs } = hubOn();
    await hub.start();
    const mine: LiveEventEntry[] = [];
    const theirs: LiveEventEntry[] = [];
    hub.subscribe(organization, undefined, (entry) => mine.push(entry));
    hub.subscribe(otherOrganization, undefined, (entry) => theirs.push(entry));
    await runs(organization, 'a', 'b');
    await runs(otherOrganization, 'c');
    expect(mine.map(runIdOf)).toEqual(['a', 'b']);
    expect(theirs.map(runIdOf)).toEqual(['c']);
    expect(mine.map((entry) => entry.id)).toEqual([`${hub.replicaId}.1`, `${hub.replicaId}.2`]);
  });

  it('reads nothing for an organization nobody watches', async () => {
    const { hub, runs } = hubOn();
    await hub.start();
    await runs(organization, 'unwatched');
    const { resumption } = hub.subscribe(organization, `${hub.replicaId}.0`, () => {});
    expect(resumption).toEqual({ kind: 'replay', entries: [] });
  });

  it('replays what a client missed, and asks for a refetch once the ring dropped some of it', async () => {
    const { hub, runs } = hubOn({ maxEvents: 3 });
    await hub.start();
    const first = hub.subscribe(organization, undefined, () => {});
    await runs(organization, 'r1');
    const seen = hub.lastId;
    first.unsubscribe();
    await runs(organization, 'r2', 'r3');
    const resumed = hub.subscribe(organization, seen, () => {});
    expect(resumed.resumption.kind).toBe('replay');
    expect(
      resumed.resumption.kind === 'replay' ? resumed.resumption.entries.map(runIdOf) : [],
    ).toEqual(['r2', 'r3']);
    resumed.unsubscribe();
    // Two more: r1 and r2 fall out of the ring of 3, so a client that saw only r1 missed r2.
    await runs(organization, 'r4', 'r5');
    expect(hub.subscribe(organization, seen, () => {}).resumption).toMatchObject({
      kind: 'refetch',
    });
  });

  it('asks for a refetch for an id older than maxAgeMs, of another replica, or from the future', async () => {
    const { hub, runs, advance } = hubOn({ maxAgeMs: 60_000 });
    await hub.start();
    hub.subscribe(organization, undefined, () => {});
    await runs(organization, 'old');
    const seen = `${hub.replicaId}.0`;
    advance(61_000);
    await runs(organization, 'new');
    expect(hub.subscribe(organization, seen, () => {}).resumption).toMatchObject({
      kind: 'refetch',
    });
    expect(hub.subscribe(organization, 'abcdef01.1', () => {}).resumption).toMatchObject({
      kind: 'refetch',
    });
    expect(hub.subscribe(organization, `${hub.replicaId}.99`, () => {}).resumption).toMatchObject({
      kind: 'refetch',
    });
    expect(hub.subscribe(organization, 'garbage', () => {}).resumption).toMatchObject({
      kind: 'refetch',
    });
  });

  it('tells every stream to reload when its notification connection was re-established', async () => {
    const { hub, relisten } = hubOn();
    await hub.start();
    const got: LiveEventEntry[] = [];
    hub.subscribe(organization, undefined, (entry) => got.push(entry));
    const before = hub.lastId;
    relisten();
    expect(got.map((entry) => entry.event)).toEqual(['refetch']);
    // An id from before the gap cannot resume; the refetch's own id can.
    expect(hub.subscribe(organization, before, () => {}).resumption.kind).toBe('refetch');
    expect(hub.subscribe(organization, got[0]!.id, () => {}).resumption.kind).toBe('replay');
  });
});
