/**
 * The real backend for agent benchmarks: core and backend built, a fresh PostgreSQL database
 * (backend/bench/benchDatabase.ts: created, migrated, dropped at the end) with one agent, and the
 * backend (`node backend/dist/main.js serve`) in its own process (backend/bench/serverProcess.ts),
 * so the agent under measurement and the server never share an event loop.
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createBenchDatabase,
  seedBenchPrincipals,
  type BenchDatabase,
} from '../../backend/bench/benchDatabase.js';
import { startServerProcess, type ServerProcess } from '../../backend/bench/serverProcess.js';

export const repositoryDir = fileURLToPath(new URL('../..', import.meta.url));
const backendDir = path.join(repositoryDir, 'backend');

export function buildPackages(say: (line: string) => void): void {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  for (const project of [
    'core/tsconfig.build.json',
    'backend/tsconfig.build.json',
    'agent/tsconfig.build.json',
  ]) {
    say(`building: tsc -p ${project}`);
    execFileSync(process.execPath, [tsc, '-p', project], { cwd: repositoryDir, stdio: 'inherit' });
  }
  // The wrapper's fast path as cron runs it: bundled (agent/package.json, "bundle").
  say('building: npm run bundle -w agent');
  execFileSync('npm', ['run', 'bundle', '-w', 'agent'], { cwd: repositoryDir, stdio: 'inherit' });
}

export interface BenchBackend {
  readonly url: string;
  readonly pid: number;
  readonly database: BenchDatabase;
  readonly organizationId: string;
  /** An agent token of the seeded agent. */
  readonly agentToken: string;
  /** Stops the server and drops the database (idempotent). */
  close(): Promise<void>;
  /** What the server wrote to stderr. */
  stderr(): string;
}

/** Creates the database, seeds one organization and agent, and starts the server on it. */
export async function startBenchBackend(databaseUrl: string): Promise<BenchBackend> {
  const database = await createBenchDatabase(databaseUrl);
  let server: ServerProcess | undefined;
  try {
    const principals = await seedBenchPrincipals(database.handle, 1);
    const agent = principals.agents[0];
    if (agent === undefined) throw new Error('no agent was seeded');
    server = await startServerProcess({
      name: 'the Cronfleet backend',
      args: ['dist/main.js', 'serve'],
      cwd: backendDir,
      env: {
        PORT: '0',
        HOST: '127.0.0.1',
        DATABASE_URL: database.url,
        CRONFLEET_WORKERS: 'false',
        LOG_LEVEL: 'warn',
        NODE_ENV: 'production',
      },
    });
    const started = server;
    let closed = false;
    return {
      url: started.url,
      pid: started.pid,
      database,
      organizationId: principals.organizationId,
      agentToken: agent.token,
      stderr: () => started.stderr(),
      close: async () => {
        if (closed) return;
        closed = true;
        try {
          await started.stop();
        } finally {
          await database.drop();
        }
      },
    };
  } catch (error) {
    await server?.stop();
    await database.drop();
    throw error;
  }
}
