import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { HeartbeatRequest } from '@cronfleet/core/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAgentConfig } from '../../src/config/agentConfig.js';
import {
  AgentLink,
  type AgentLinkOptions,
  type HeartbeatClock,
} from '../../src/control/agentLink.js';
import {
  InstalledJudgementTimes,
  type JudgementTimeSource,
} from '../../src/control/judgementTimes.js';
import { AgentStateStore } from '../../src/state/agentStateStore.js';
import {
  revisionA,
  revisionB,
  runSpec,
  silentLogger,
  writeAppliedState,
} from './controlFixtures.js';

/**
 * The daemon's heartbeats at each installed job's fire time + grace + 1 s (judgementTimes.ts), as
 * a local HTTP receiver sees them arrive. Time is a fake clock: the loop sleeps through it, the
 * receiver stamps each heartbeat with it, so nothing depends on the machine's speed.
 */

class FakeClock implements HeartbeatClock {
  constructor(public ms: number) {}

  now(): number {
    return this.ms;
  }

  async sleep(ms: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted) throw signal.reason;
    this.ms += ms;
    // Let the receiver and the loop's other promises run, as a real timer would.
    await new Promise((resolve) => setImmediate(resolve));
    if (signal.aborted) throw signal.reason;
  }
}

interface Arrival {
  at: number;
  deliveredThrough: number | undefined;
}

/** A backend that answers heartbeats (interval 30 s) and inventories, noting when each came. */
class HeartbeatReceiver {
  readonly arrivals: Arrival[] = [];
  clock: FakeClock | undefined;
  /** Aborted once the clock reaches `until`. */
  controller = new AbortController();
  until = Number.POSITIVE_INFINITY;
  private server: Server | undefined;

  async start(): Promise<string> {
    this.server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        response.setHeader('content-type', 'application/json');
        if (request.url === '/api/v1/agents/heartbeat') {
          const heartbeat = HeartbeatRequest.parse(JSON.parse(body));
          const at = this.clock!.now();
          this.arrivals.push({
            at,
            deliveredThrough:
              heartbeat.deliveredThrough === undefined
                ? undefined
                : Date.parse(heartbeat.deliveredThrough),
          });
          if (at >= this.until) this.controller.abort();
          response.end(JSON.stringify({ heartbeatIntervalSeconds: 30, commands: [] }));
        } else if (request.url === '/api/v1/agents/inventory') {
          response.end(JSON.stringify({ jobCount: 1, unmanagedCount: 0, warnings: [] }));
        } else {
          response.statusCode = 404;
          response.end(JSON.stringify({ error: { message: 'not found' } }));
        }
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  reset(clock: FakeClock, until: number): void {
    this.arrivals.length = 0;
    this.clock = clock;
    this.until = until;
    this.controller = new AbortController();
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server?.close(() => resolve()));
  }
}

const start = Date.parse('2024-05-01T12:00:30Z');
const minute = 60_000;

let root: string;
let receiver: HeartbeatReceiver;
let backendUrl: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'cronfleet-judgement-'));
  receiver = new HeartbeatReceiver();
  backendUrl = await receiver.start();
});

afterAll(async () => {
  await receiver.close();
  await rm(root, { recursive: true, force: true });
});

let stores = 0;
async function freshStore(): Promise<AgentStateStore> {
  stores += 1;
  const store = new AgentStateStore(path.join(root, `state-${stores}`));
  await store.ensureDirectory();
  return store;
}

function link(store: AgentStateStore, options: Partial<AgentLinkOptions>): AgentLink {
  return new AgentLink(backendUrl, 'cfa_test', null, {
    config: loadAgentConfig({ backend: backendUrl, stateDir: store.stateDir }, {}),
    store,
    logger: silentLogger,
    discoverUnmanaged: async () => [],
    timing: { jitter: 0 },
    ...options,
  });
}

/** Runs the loop on a fake clock from `start` until a heartbeat arrives at or after `until`. */
async function runLoop(
  store: AgentStateStore,
  until: number,
  options: Partial<AgentLinkOptions> & { watermarkLagMs?: number } = {},
): Promise<Arrival[]> {
  const clock = new FakeClock(start);
  receiver.reset(clock, until);
  // The spool sender, as the daemon wires it: a drain asked for starts at once and empties the
  // spool `watermarkLagMs` later; its start becomes the watermark.
  let drainStartedAt: number | undefined;
  let watermark = start;
  const { watermarkLagMs = 0, ...linkOptions } = options;
  const deliveredThrough = () => {
    if (drainStartedAt !== undefined && clock.now() >= drainStartedAt + watermarkLagMs) {
      watermark = Math.max(watermark, drainStartedAt);
    }
    return new Date(watermark);
  };
  const end = await link(store, {
    clock,
    judgementTimes: new InstalledJudgementTimes(store),
    deliveredThrough,
    requestDelivery: () => {
      drainStartedAt = clock.now();
    },
    ...linkOptions,
  }).startHeartbeats({ signal: receiver.controller.signal, onRevoked: () => {} });
  expect(end).toEqual({ reason: 'stopped' });
  return [...receiver.arrivals];
}

const clockTimes = (arrivals: readonly Arrival[]) =>
  arrivals.map((arrival) => new Date(arrival.at).toISOString().slice(11, 23));

describe('heartbeats at judgement instants', () => {
  it('sends one ~11 s after each minute for an every-minute job with 10 s grace, and the interval ones', async () => {
    const store = await freshStore();
    await writeAppliedState(store, [
      runSpec('ops/every-minute', revisionA, {
        schedule: '* * * * *',
        timezone: 'UTC',
        monitoring: { graceMs: 10_000, maxRuntimeMs: null, alertAfter: 1 },
      }),
    ]);
    const arrivals = await runLoop(store, start + 4 * minute);
    expect(clockTimes(arrivals)).toEqual([
      '12:00:30.000', // at once
      '12:01:00.000', // the interval (30 s, no jitter here)
      '12:01:11.000', // 12:01 + 10 s grace + 1 s
      '12:01:41.000',
      '12:02:11.000',
      '12:02:41.000',
      '12:03:11.000',
      '12:03:41.000',
      '12:04:11.000',
      '12:04:41.000',
    ]);
    // Each judgement heartbeat carries a watermark past its fire time + grace, so the backend can
    // judge the fire at its next pass.
    for (const arrival of arrivals.filter((one) => new Date(one.at).getUTCSeconds() === 11)) {
      expect(arrival.deliveredThrough).toBeGreaterThanOrEqual(arrival.at - 1000);
    }
  });

  it('keeps heartbeats at least 5 s apart, and serves every instant within the spacing', async () => {
    const store = await freshStore();
    // Every-minute jobs whose graces put an instant every second from :05 to :24.
    const specs = Array.from({ length: 20 }, (_, index) =>
      runSpec(`ops/job-${index}`, revisionA, {
        schedule: '* * * * *',
        timezone: 'UTC',
        monitoring: { graceMs: (4 + index) * 1000, maxRuntimeMs: null, alertAfter: 1 },
      }),
    );
    await writeAppliedState(store, specs);
    const arrivals = await runLoop(store, start + 5 * minute);
    const times = arrivals.map((arrival) => arrival.at);
    for (let index = 1; index < times.length; index += 1) {
      expect(times[index]! - times[index - 1]!).toBeGreaterThanOrEqual(5_000);
    }
    // Every fire time + grace + 1 s from 12:01 on has a heartbeat within 5 s after it, whose
    // watermark has passed that fire time + grace.
    for (let fire = start + 30_000; fire < start + 4 * minute; fire += minute) {
      for (let index = 0; index < 20; index += 1) {
        const instant = fire + (4 + index) * 1000 + 1000;
        expect(
          arrivals.some(
            (arrival) =>
              arrival.at >= instant &&
              arrival.at <= instant + 5_000 &&
              arrival.deliveredThrough! >= instant - 1000,
          ),
        ).toBe(true);
      }
    }
    // One minute: twenty instants from :05 to :24 make five heartbeats, not twenty, besides the
    // interval's.
    const oneMinute = arrivals.filter((one) => one.at >= start + 30_000 && one.at < start + 90_000);
    expect(clockTimes(oneMinute)).toEqual([
      '12:01:00.000',
      '12:01:05.000',
      '12:01:10.000',
      '12:01:15.000',
      '12:01:20.000',
      '12:01:25.000',
      '12:01:55.000',
    ]);
  });

  it('waits for the spool to drain before a judgement heartbeat, but not for ever', async () => {
    const store = await freshStore();
    await writeAppliedState(store, [
      runSpec('ops/hourly', revisionA, {
        schedule: '0 * * * *',
        timezone: 'UTC',
        monitoring: { graceMs: 60_000, maxRuntimeMs: null, alertAfter: 1 },
      }),
    ]);
    // 13:01:01 is the instant; the drain takes 400 ms of the clock.
    const late = Date.parse('2024-05-01T13:01:01Z');
    const lagging = await runLoop(store, late + minute, { watermarkLagMs: 400 });
    const judged = lagging.find((arrival) => arrival.at >= late);
    expect(new Date(judged!.at).toISOString()).toBe('2024-05-01T13:01:01.400Z');
    expect(judged!.deliveredThrough).toBe(Date.parse('2024-05-01T13:01:01.000Z'));
    // A spool that does not drain (the backend refuses check-ins): the heartbeat goes after 3 s.
    const stuck = await runLoop(store, late + minute, { watermarkLagMs: Number.POSITIVE_INFINITY });
    const unjudged = stuck.find((arrival) => arrival.at >= late);
    expect(new Date(unjudged!.at).toISOString()).toBe('2024-05-01T13:01:04.000Z');
  });

  it('has only interval heartbeats without judgement times, or with suspended and @reboot jobs', async () => {
    const store = await freshStore();
    await writeAppliedState(store, [
      runSpec('ops/paused', revisionA, { schedule: '* * * * *', suspend: true }),
      runSpec('ops/boot', revisionA, { schedule: '@reboot' }),
    ]);
    const interval = [
      '12:00:30.000',
      '12:01:00.000',
      '12:01:30.000',
      '12:02:00.000',
      '12:02:30.000',
    ];
    expect(clockTimes(await runLoop(store, start + 2 * minute))).toEqual(interval);
    expect(
      clockTimes(await runLoop(store, start + 2 * minute, { judgementTimes: undefined })),
    ).toEqual(interval);
  });
});

describe('the installed jobs behind the instants', () => {
  const hourly = (revision: string, schedule: string) =>
    runSpec('ops/report', revision, {
      schedule,
      timezone: 'Europe/Berlin',
      monitoring: { graceMs: 120_000, maxRuntimeMs: null, alertAfter: 1 },
    });

  it('reads the run specs as applied, once, and again after an apply', async () => {
    const store = await freshStore();
    await writeAppliedState(store, [hourly(revisionA, '0 * * * *')]);
    const times = new InstalledJudgementTimes(store);
    const after = new Date('2024-05-01T12:30:00Z');
    expect((await times.nextAfter(after))?.toISOString()).toBe('2024-05-01T13:02:01.000Z');
    // A new revision moves the job to :29 (Berlin is UTC+2 in May; the minute is the same).
    await writeAppliedState(store, [hourly(revisionB, '29 * * * *')]);
    times.invalidate();
    expect((await times.nextAfter(after))?.toISOString()).toBe('2024-05-01T12:31:01.000Z');
  });

  it('notices an inventory written by another process (sync --once) without being told', async () => {
    const store = await freshStore();
    await writeAppliedState(store, [hourly(revisionA, '0 * * * *')]);
    const times = new InstalledJudgementTimes(store);
    const after = new Date('2024-05-01T12:30:00Z');
    expect((await times.nextAfter(after))?.toISOString()).toBe('2024-05-01T13:02:01.000Z');
    await writeAppliedState(store, [hourly(revisionB, '45 * * * *')]);
    expect((await times.nextAfter(after))?.toISOString()).toBe('2024-05-01T12:47:01.000Z');
  });

  it('gives none, without throwing, when the inventory cannot be read', async () => {
    const store = await freshStore();
    await writeFile(store.inventoryFile, '{ not json', { mode: 0o600 });
    const times = new InstalledJudgementTimes(store);
    expect(await times.nextAfter(new Date('2024-05-01T12:30:00Z'))).toBeUndefined();
    // Repaired: read again at once.
    await writeAppliedState(store, [hourly(revisionA, '0 * * * *')]);
    expect((await times.nextAfter(new Date('2024-05-01T12:30:00Z')))?.toISOString()).toBe(
      '2024-05-01T13:02:01.000Z',
    );
  });

  it('is read again when the link learns that the inventory changed', async () => {
    const store = await freshStore();
    let invalidated = 0;
    const source: JudgementTimeSource = {
      nextAfter: async () => undefined,
      invalidate: () => {
        invalidated += 1;
      },
    };
    const agentLink = link(store, { judgementTimes: source });
    agentLink.markInventoryDirty();
    expect(invalidated).toBe(1);
    receiver.reset(new FakeClock(start), start);
    expect((await agentLink.reportInventory()).sent).toBe(true);
    expect(invalidated).toBe(2);
  });
});
