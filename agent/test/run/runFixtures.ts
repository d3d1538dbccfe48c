import { spawn, type ChildProcess } from 'node:child_process';
import { appendFile, mkdtemp, open, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CheckIn, CheckInFinish, CheckInStart } from '@cronfleet/core/api';
import type { CheckInSink } from '../../src/spool/checkInSink.js';
import { AgentStateStore, type InventoryEntry } from '../../src/state/agentStateStore.js';
import { commandDigest, runSpecDigest, type RunSpec } from '../../src/state/runSpec.js';

/**
 * Fixtures of the run wrapper's tests: a state directory holding an inventory and the run specs
 * of test jobs (as the reconciler writes them), check-in sinks (in memory; a JSON-lines file
 * that several wrapper processes append to, fsynced like the spool), and wrapper processes
 * started through tsx from the TypeScript sources (wrapperEntry.ts).
 */

export const REVISION = 'abcdef0123456789abcdef0123456789abcdef01';

export function jobSpec(name: string, overrides: Partial<RunSpec> = {}): RunSpec {
  return {
    version: 1,
    id: `test/${name}`,
    namespace: 'test',
    name,
    revision: REVISION,
    sourcePath: `test/${name}.yaml`,
    schedule: '* * * * *',
    timezone: 'UTC',
    native: { expression: '* * * * *', timezone: 'UTC', exact: true },
    command: 'true',
    workingDir: null,
    env: {},
    user: null,
    timeoutMs: null,
    concurrencyPolicy: 'Allow',
    retries: { limit: 0, delayMs: 0, backoff: 'constant' },
    suspend: false,
    monitoring: { graceMs: 300_000, maxRuntimeMs: null, alertAfter: 1 },
    outputMaxBytes: 65_536,
    labels: {},
    ...overrides,
  };
}

/** The inventory entry of `spec` as applied (what the reconciler records). */
export function installedJob(spec: RunSpec): InventoryEntry {
  return {
    id: spec.id,
    namespace: spec.namespace,
    name: spec.name,
    revision: spec.revision,
    sourcePath: spec.sourcePath,
    specDigest: runSpecDigest(spec),
    commandDigest: commandDigest(spec),
    rendered: '',
    job: {
      id: spec.id,
      namespace: spec.namespace,
      name: spec.name,
      schedule: spec.native,
      suspended: spec.suspend,
    },
  };
}

export class TestState {
  readonly store: AgentStateStore;
  readonly sinkFile: string;

  private constructor(readonly root: string) {
    this.store = new AgentStateStore(path.join(root, 'state'));
    this.sinkFile = path.join(root, 'check-ins.jsonl');
  }

  static async create(prefix: string): Promise<TestState> {
    return new TestState(await mkdtemp(path.join(os.tmpdir(), `cronfleet-run-${prefix}-`)));
  }

  get stateDir(): string {
    return this.store.stateDir;
  }

  /** Installs `specs` as applied jobs (inventory + run specs), next to those installed before. */
  async install(...specs: RunSpec[]): Promise<void> {
    await this.store.ensureDirectory();
    for (const spec of specs) await this.store.writeRunSpec(spec);
    const installed = (await this.store.readInventory())?.jobs ?? {};
    await this.store.writeInventory({
      version: 1,
      scheduler: 'crontab',
      jobs: Object.fromEntries([
        ...Object.entries(installed),
        ...specs.map((spec) => [spec.id, installedJob(spec)]),
      ]),
    });
  }

  /** The check-ins the wrapper processes recorded into `sinkFile`, in order. */
  async checkIns(): Promise<CheckIn[]> {
    return readCheckInFile(this.sinkFile);
  }

  async remove(): Promise<void> {
    await rm(this.root, { recursive: true, force: true });
  }
}

export class MemoryCheckInSink implements CheckInSink {
  readonly checkIns: CheckIn[] = [];
  record(checkIns: readonly CheckIn[]): Promise<void> {
    this.checkIns.push(...structuredClone(checkIns));
    return Promise.resolve();
  }
}

/** JSON lines appended with O_APPEND (one write per record call) and fsynced. */
export class FileCheckInSink implements CheckInSink {
  constructor(readonly file: string) {}

  async record(checkIns: readonly CheckIn[]): Promise<void> {
    const handle = await open(this.file, 'a', 0o600);
    try {
      await handle.write(checkIns.map((checkIn) => `${JSON.stringify(checkIn)}\n`).join(''));
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
}

export async function readCheckInFile(file: string): Promise<CheckIn[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as CheckIn);
}

export const starts = (checkIns: readonly CheckIn[]) =>
  checkIns.filter((checkIn): checkIn is CheckInStart => checkIn.kind === 'start');
export const finishes = (checkIns: readonly CheckIn[]) =>
  checkIns.filter((checkIn): checkIn is CheckInFinish => checkIn.kind === 'finish');

export const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const repositoryRoot = fileURLToPath(new URL('../../../', import.meta.url));
const wrapperEntry = fileURLToPath(new URL('./wrapperEntry.ts', import.meta.url));

export interface WrapperProcess {
  child: ChildProcess;
  /** Resolves with the wrapper's exit code (null when a signal ended it) and its stderr. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

export interface WrapperArguments {
  manual?: boolean;
  killGraceMs?: number;
  /** Writes { maxRssKb } there when the wrapper is done. */
  reportFile?: string;
  /** Records into the state directory's real spool instead of `state.sinkFile`. */
  spool?: boolean;
  /** The first attempt's run id (a run-now request's id). */
  runId?: string;
}

/** Starts `cronfleet-agent run`'s code path in its own process, recording into `state.sinkFile`. */
export function spawnWrapper(
  state: TestState,
  id: string,
  options: WrapperArguments = {},
): WrapperProcess {
  const child = spawn(
    process.execPath,
    [
      '--conditions=@cronfleet/source',
      '--import',
      'tsx',
      wrapperEntry,
      JSON.stringify({ stateDir: state.stateDir, sinkFile: state.sinkFile, id, ...options }),
    ],
    { cwd: repositoryRoot, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const exited = new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    stderr: string;
  }>((resolve) => {
    child.once('close', (code, signal) => resolve({ code, signal, stderr }));
  });
  return { child, exited };
}

/** Polls `condition` every 20 ms until it holds; fails after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  condition: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export async function appendLine(file: string, line: string): Promise<void> {
  await appendFile(file, `${line}\n`);
}
