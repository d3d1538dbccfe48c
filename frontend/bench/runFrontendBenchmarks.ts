/**
 * `npm run bench -w frontend`: the dashboard benchmark, in headless chromium against a seeded
 * PostgreSQL (docs/development.md, "Benchmarks").
 *
 * 1. Build core and backend (tsc) and the dashboard (vite, into a temporary directory); measure
 *    the initial JavaScript of its index.html, gzipped.
 * 2. Create a fresh `cronfleet_bench_<random>` database (backend/bench/benchDatabase.ts: created,
 *    migrated with the backend's migrator, dropped at the end), seed one organization, its agents
 *    and an admin, start the backend (`node backend/dist/main.js serve`, workers off) serving
 *    that build, write every agent's inventory through the API (10,000 jobs), set the jobs'
 *    health, and insert 1,000,000 runs over 4 weeks.
 * 3. Sign in once in chromium; load each page cold (a new browser context: empty HTTP cache)
 *    and then `warmLoads` times warm (one context, pages in rotation: a returning user), timing
 *    "interactive" in the page (pageLoadBenchmark.ts says precisely how).
 * 4. Print the table (targets met or MISSED, ratio to the empty page) and the load average
 *    before and during the loads.
 *
 * Exit 0 when every measurement ran, whether or not the targets were met; 1 on an error.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium, type Browser } from 'playwright-core';
import {
  createBenchDatabase,
  redactUrl,
  seedBenchPrincipals,
  type BenchDatabase,
} from '../../backend/bench/benchDatabase.js';
import { startServerProcess, type ServerProcess } from '../../backend/bench/serverProcess.js';
import {
  loadFrontendBenchConfig,
  measuredPages,
  wanted,
  type FrontendBenchConfig,
  type MeasuredPage,
} from './frontendBenchConfig.js';
import {
  frontendBenchRows,
  formatFrontendReport,
  formatLoadDetails,
  whole,
} from './frontendBenchReport.js';
import { seedJobHealth, seedRuns, seedSignInUser, writeInventories } from './dashboardBenchData.js';
import { measureInitialJavaScript, type InitialJavaScript } from './initialJavaScript.js';
import {
  loadPage,
  newMeasuredContext,
  pageSpecs,
  signInState,
  type PageLoad,
  type SessionState,
} from './pageLoadBenchmark.js';

const run = promisify(execFile);
const frontendDir = fileURLToPath(new URL('..', import.meta.url));
const repositoryDir = path.dirname(frontendDir);

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

function loadAverage(): number {
  return os.loadavg()[0] ?? 0;
}

function buildServer(): void {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  for (const project of ['core/tsconfig.build.json', 'backend/tsconfig.build.json']) {
    say(`building: tsc -p ${project}`);
    execFileSync(process.execPath, [tsc, '-p', project], { cwd: repositoryDir, stdio: 'inherit' });
  }
}

/** The dashboard as production serves it, built into a temporary directory (never a stale dist/). */
async function buildDashboard(): Promise<string> {
  const outDir = await mkdtemp(path.join(os.tmpdir(), 'cronfleet-bench-dashboard-'));
  say(`building: vite build --outDir ${outDir}`);
  // npm hoists vite to the workspace root's node_modules.
  const vite = path.join(repositoryDir, 'node_modules/vite/bin/vite.js');
  await run(
    process.execPath,
    [vite, 'build', '--outDir', outDir, '--emptyOutDir', '--logLevel', 'error'],
    { cwd: frontendDir },
  );
  return outDir;
}

/** The 1-minute load average, sampled every 2 s while the pages load. */
class LoadSampler {
  private readonly samples: number[] = [];
  private readonly timer = setInterval(() => this.samples.push(loadAverage()), 2000);

  stop(): { max: number; mean: number } {
    clearInterval(this.timer);
    const samples = this.samples.length === 0 ? [loadAverage()] : this.samples;
    return {
      max: Math.max(...samples),
      mean: samples.reduce((sum, value) => sum + value, 0) / samples.length,
    };
  }
}

interface Fleet {
  database: BenchDatabase;
  server: ServerProcess;
}

async function startFleet(config: FrontendBenchConfig, distDir: string): Promise<Fleet> {
  const database = await createBenchDatabase(config.databaseUrl);
  let server: ServerProcess | undefined;
  try {
    say(`database ${database.name} (PostgreSQL ${database.serverVersion})`);
    const principals = await seedBenchPrincipals(database.handle, config.agents);
    await seedSignInUser(database.handle, principals.organizationId);
    server = await startServerProcess({
      name: 'the Cronfleet backend',
      args: ['dist/main.js', 'serve'],
      cwd: path.join(repositoryDir, 'backend'),
      env: {
        PORT: '0',
        HOST: '127.0.0.1',
        DATABASE_URL: database.url,
        CRONFLEET_FRONTEND_DIR: distDir,
        CRONFLEET_WORKERS: 'false',
        LOG_LEVEL: 'warn',
        NODE_ENV: 'production',
      },
    });
    say(`backend (pid ${server.pid}) at ${server.url}`);
    let started = performance.now();
    await writeInventories(server.url, principals, config.jobs);
    await seedJobHealth(database.handle, principals.organizationId);
    say(
      `seeded ${whole(config.jobs)} jobs on ${config.agents} agents through the inventory route in ${seconds(started)}`,
    );
    started = performance.now();
    const history = await seedRuns(database.handle, {
      organizationId: principals.organizationId,
      jobs: config.jobs,
      runs: config.runs,
      days: config.runDays,
    });
    say(
      `seeded ${whole(history.runs)} runs over ${config.runDays} days in ${seconds(started)} (runs table and indexes: ${history.tableSize})`,
    );
    return { database, server };
  } catch (error) {
    await server?.stop();
    await database.drop();
    throw error;
  }
}

function seconds(started: number): string {
  return `${((performance.now() - started) / 1000).toFixed(1)} s`;
}

/**
 * The cold loads (each page in a new context), with the scripts the empty page's cold load
 * fetched, to check the initial JavaScript against the network.
 */
async function coldLoads(
  browser: Browser,
  baseUrl: string,
  state: SessionState,
  pages: readonly MeasuredPage[],
): Promise<{ loads: PageLoad[]; scripts: { url: string; encoding: string }[] }> {
  const loads: PageLoad[] = [];
  const scripts: { url: string; encoding: string }[] = [];
  for (const page of pages) {
    const context = await newMeasuredContext(browser, state);
    try {
      const tab = await context.newPage();
      if (page === 'empty') {
        tab.on('response', (response) => {
          if (response.request().resourceType() !== 'script') return;
          scripts.push({
            url: new URL(response.url()).pathname,
            encoding: response.headers()['content-encoding'] ?? 'none',
          });
        });
      }
      const load = await loadPage(tab, baseUrl, pageSpecs[page], true);
      say(`  ${page}, cold: interactive ${whole(load.interactiveMs)} ms`);
      loads.push(load);
    } finally {
      await context.close();
    }
  }
  return { loads, scripts };
}

async function warmLoads(
  browser: Browser,
  baseUrl: string,
  state: SessionState,
  pages: readonly MeasuredPage[],
  rounds: number,
): Promise<PageLoad[]> {
  const loads: PageLoad[] = [];
  const context = await newMeasuredContext(browser, state);
  try {
    const tab = await context.newPage();
    // Not measured: fills the context's cache, as a returning user's browser has it.
    for (const page of pages) await loadPage(tab, baseUrl, pageSpecs[page], false);
    for (let round = 1; round <= rounds; round += 1) {
      for (const page of pages) {
        const load = await loadPage(tab, baseUrl, pageSpecs[page], false);
        say(`  ${page}, warm ${round}/${rounds}: interactive ${whole(load.interactiveMs)} ms`);
        loads.push(load);
      }
    }
  } finally {
    await context.close();
  }
  return loads;
}

async function main(): Promise<number> {
  const config = loadFrontendBenchConfig();
  const loadBefore = loadAverage();
  say(
    `Cronfleet dashboard benchmark — ${new Date().toISOString()}, Node ${process.version}, ` +
      `${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? 'unknown'}), load average ${loadBefore.toFixed(2)}, ` +
      `PostgreSQL at ${redactUrl(config.databaseUrl)}`,
  );
  const pages = measuredPages.filter((page) => page !== 'empty' && wanted(config, page));
  // The empty page is the reference of every ratio: loaded whenever a page is.
  const loadedPages: MeasuredPage[] =
    pages.length > 0 || wanted(config, 'empty') ? ['empty', ...pages] : [];
  if (!config.skipBuild && loadedPages.length > 0) buildServer();
  const distDir = await buildDashboard();
  const problems: string[] = [];
  let javaScript: InitialJavaScript | undefined;
  let loads: PageLoad[] = [];
  let loadDuring: { max: number; mean: number } | undefined;
  let fleet: Fleet | undefined;
  let browser: Browser | undefined;
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) return;
    interrupted = true;
    say('interrupted: stopping chromium and the backend, dropping the bench database');
    void (async () => {
      await browser?.close().catch(() => {});
      await fleet?.server.stop();
      await fleet?.database.drop();
      await rm(distDir, { recursive: true, force: true });
    })().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    if (wanted(config, 'js')) javaScript = await measureInitialJavaScript(distDir);
    if (loadedPages.length > 0) {
      fleet = await startFleet(config, distDir);
      browser = await chromium.launch({
        executablePath: config.chromiumPath,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
      });
      say(
        `chromium ${browser.version()}; load average ${loadAverage().toFixed(2)} before the loads`,
      );
      const state = await signInState(browser, fleet.server.url);
      const sampler = new LoadSampler();
      try {
        const cold = await coldLoads(browser, fleet.server.url, state, loadedPages);
        loads = [
          ...cold.loads,
          ...(await warmLoads(browser, fleet.server.url, state, loadedPages, config.warmLoads)),
        ];
        if (javaScript !== undefined) {
          const fetched = new Set(cold.scripts.map((script) => script.url));
          const built = new Set(javaScript.scripts.map((script) => script.url));
          const differ = fetched.size !== built.size || [...built].some((url) => !fetched.has(url));
          if (differ) {
            problems.push(
              `the empty page fetched the scripts ${[...fetched].join(', ')}, index.html names ${[...built].join(', ')}`,
            );
          }
          say(
            `initial scripts over the network: ${cold.scripts.map((script) => `${script.url} (content-encoding: ${script.encoding})`).join(', ')}`,
          );
        }
      } finally {
        loadDuring = sampler.stop();
      }
    }
  } catch (error) {
    problems.push((error as Error).stack ?? String(error));
  } finally {
    await browser?.close();
    if (fleet !== undefined) {
      const stderr = fleet.server.stderr().trim();
      await fleet.server.stop();
      await fleet.database.drop();
      if (stderr !== '') say(`backend stderr:\n${stderr}`);
      say(`dropped database ${fleet.database.name}`);
    }
    await rm(distDir, { recursive: true, force: true });
  }

  say('');
  say(formatFrontendReport(frontendBenchRows(loads, javaScript, config)));
  say('');
  if (loads.length > 0) say(formatLoadDetails(loads));
  if (javaScript !== undefined) {
    say(
      `initial JavaScript: ${javaScript.scripts.map((script) => `${script.url} ${(script.bytes / 1000).toFixed(1)} kB, gzip ${(script.gzipBytes / 1000).toFixed(1)} kB`).join('; ')}`,
    );
  }
  say(
    `load average (1 min): ${loadBefore.toFixed(2)} before the run` +
      (loadDuring === undefined
        ? ''
        : `, during the loads mean ${loadDuring.mean.toFixed(2)}, max ${loadDuring.max.toFixed(2)}`) +
      ` (${os.cpus().length} CPUs)`,
  );
  if (problems.length > 0) {
    say('');
    say('Errors (the run failed):');
    for (const problem of problems) say(`  - ${problem}`);
    return 1;
  }
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`benchmark failed: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
