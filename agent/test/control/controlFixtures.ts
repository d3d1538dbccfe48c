import net from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { CommandContext } from '../../src/commands/commandContext.js';
import { loadAgentConfig, type ConfigFlags } from '../../src/config/agentConfig.js';
import type { AgentStateStore, Inventory } from '../../src/state/agentStateStore.js';
import { commandDigest, runSpecDigest, type RunSpec } from '../../src/state/runSpec.js';
import { OutageListener } from '../outageListener.js';

/** Helpers of the control-plane tests: command contexts, agent state, a backend that goes away. */

export const silentLogger = pino({ level: 'silent' });

export interface CommandRun {
  context: CommandContext;
  stdout: () => string;
  stderr: () => string;
}

function sink(): { stream: Writable; text: () => string } {
  let text = '';
  return {
    stream: new Writable({
      write(chunk: Buffer, _encoding, done) {
        text += chunk.toString();
        done();
      },
    }),
    text: () => text,
  };
}

/** A command context as main builds it, with captured output. */
export function commandContext(
  flags: ConfigFlags,
  options: {
    environment?: Record<string, string>;
    positionals?: string[];
    json?: boolean;
  } = {},
): CommandRun {
  const stdout = sink();
  const stderr = sink();
  const environment = options.environment ?? {};
  return {
    context: {
      config: loadAgentConfig(flags, environment),
      logger: silentLogger,
      io: { stdout: stdout.stream, stderr: stderr.stream, environment },
      positionals: options.positionals ?? [],
      json: options.json ?? false,
      once: false,
      manual: false,
      scheduledAt: undefined,
      runId: undefined,
      specKey: undefined,
      repoFlag: flags.repo,
      argv: [],
      daemonTick: false,
    },
    stdout: stdout.text,
    stderr: stderr.text,
  };
}

export const revisionA = 'a'.repeat(40);
export const revisionB = 'b'.repeat(40);

export function runSpec(id: string, revision: string, overrides: Partial<RunSpec> = {}): RunSpec {
  const [namespace = '', name = ''] = id.split('/');
  return {
    version: 1,
    id,
    namespace,
    name,
    revision,
    sourcePath: `${namespace}/${name}.yaml`,
    schedule: '0 2 * * *',
    timezone: 'Europe/Paris',
    native: { expression: '0 2 * * *', timezone: 'Europe/Paris', exact: true },
    command: `/opt/jobs/${name}`,
    workingDir: null,
    env: {},
    user: null,
    timeoutMs: null,
    concurrencyPolicy: 'Allow',
    retries: { limit: 0, delayMs: 10_000, backoff: 'exponential' },
    suspend: false,
    monitoring: { graceMs: 300_000, maxRuntimeMs: null, alertAfter: 1 },
    outputMaxBytes: 65_536,
    labels: {},
    ...overrides,
  };
}

/**
 * Writes what a reconcile leaves: inventory.json listing `specs` (and `withoutSpec`, installed
 * jobs whose run spec is missing) and the run specs.
 */
export async function writeAppliedState(
  store: AgentStateStore,
  specs: readonly RunSpec[],
  withoutSpec: readonly RunSpec[] = [],
): Promise<Inventory> {
  const inventory: Inventory = { version: 1, scheduler: 'crontab', jobs: {} };
  for (const spec of [...specs, ...withoutSpec]) {
    inventory.jobs[spec.id] = {
      id: spec.id,
      namespace: spec.namespace,
      name: spec.name,
      revision: spec.revision,
      sourcePath: spec.sourcePath,
      specDigest: runSpecDigest(spec),
      commandDigest: commandDigest(spec),
      rendered: `# cronfleet-job: ${spec.id}\n${spec.native.expression} /usr/bin/node run ${spec.id}`,
      job: {
        id: spec.id,
        namespace: spec.namespace,
        name: spec.name,
        schedule: spec.native,
        suspended: spec.suspend,
      },
    };
  }
  for (const spec of specs) await store.writeRunSpec(spec);
  await store.writeInventory(inventory);
  return inventory;
}

/**
 * A TCP proxy in front of the backend that the test can take down and bring back on the same
 * port: the agent sees a backend that goes away (connections reset) and returns, as after a
 * restart. The port is held from start to close (see OutageListener).
 */
export class TcpProxy {
  private constructor(
    readonly target: { host: string; port: number },
    readonly listener: OutageListener,
  ) {}

  static async start(targetUrl: string): Promise<TcpProxy> {
    const url = new URL(targetUrl);
    const proxy = new TcpProxy(
      { host: url.hostname, port: Number(url.port) },
      await OutageListener.listen(),
    );
    await proxy.up();
    return proxy;
  }

  get url(): string {
    return this.listener.url;
  }

  async up(): Promise<void> {
    this.listener.up((client) => {
      const upstream = net.connect(this.target.port, this.target.host);
      for (const socket of [client, upstream]) {
        socket.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.once('close', () => upstream.destroy());
      client.pipe(upstream).pipe(client);
    });
  }

  async down(): Promise<void> {
    this.listener.down();
  }

  close(): Promise<void> {
    return this.listener.close();
  }
}

/** Resolves once `predicate` holds, polling every 10 ms; rejects after `timeoutMs`. */
export async function waitFor(
  predicate: () => boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
