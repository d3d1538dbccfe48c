import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * The reconcile benchmark (issue 10 §1): N jobs, a mix of UTC and non-UTC zones, from a local
 * Git repository (file://) into the real crontab of a throwaway user and into a cron.d directory
 * of its own (never /etc/cron.d, never root's crontab), each measured against what the same
 * work costs done alone in the same run:
 *
 * - first apply (`sync --once` into an empty state directory), against `git clone` plus
 *   `crontab -` of the final crontab, or the cron.d files written one by one (temporary file,
 *   fsync, rename);
 * - a tick with nothing changed, as `sync --once` (a process) and in the daemon, against
 *   `git fetch` alone: the tick's own CPU (the `cpuMs` the agent logs: its process's CPU for
 *   the tick, git's children excluded) and what it wrote (it must write nothing);
 * - a one-job change (one job's command edited and committed): the run specs and scheduler
 *   entries it wrote (it must write one of each);
 * - the daemon's resident set after `idleMinutes` with nothing to do.
 *
 * Commands run under `bash -c '…; times'`, whose second line is the CPU of everything the
 * command started (git included).
 */

export interface ReconcileBenchOptions {
  agentBin: string;
  jobCounts: readonly number[];
  idleMinutes: number;
  pollSeconds: number;
  say: (line: string) => void;
}

export interface ReconcileMeasurement {
  jobs: number;
  scheduler: 'crontab' | 'cron.d';
  /** The median of the samples; `samplesWallMs` has them all. */
  firstApply: ProcessCost & { tickCpuMs: number | undefined; samplesWallMs: number[] };
  noChange: ProcessCost & { tickCpuMs: number | undefined; filesWritten: number };
  oneJobChange: ProcessCost & { specsWritten: number; entriesWritten: number };
  /** `crontab -` of the final crontab, or the cron.d files written one by one. */
  schedulerWriteAlone: ProcessCost;
  daemon?: {
    idleRssMB: number;
    /** Of which anonymous memory (heaps) and mapped files (Node's binary, ICU data). */
    anonymousMB: number;
    fileMB: number;
    tickCpuMs: number[];
    ownCpuMsPerTick: number;
    ticks: number;
  };
}

export interface ReconcileBaselines {
  jobs: number;
  gitClone: ProcessCost;
  gitFetch: ProcessCost;
}

export interface ProcessCost {
  wallMs: number;
  cpuMs: number;
}

const zones = [
  'UTC',
  'America/New_York',
  'UTC',
  'Europe/Berlin',
  'UTC',
  'Asia/Kolkata',
  'UTC',
  'Australia/Lord_Howe',
];

function scheduleOf(index: number): string {
  const minute = index % 60;
  const hour = Math.floor(index / 60) % 24;
  switch (index % 4) {
    case 0:
      return `${minute} ${hour} * * *`;
    case 1:
      return `${minute} */2 * * 1-5`;
    case 2:
      return '*/15 * * * *';
    default:
      return `${minute} ${hour} 1 * *`;
  }
}

function jobDocument(index: number, command: string): string {
  return [
    '---',
    'apiVersion: cronfleet.dev/v1',
    'kind: Job',
    'metadata:',
    `  name: job-${String(index).padStart(5, '0')}`,
    'spec:',
    `  schedule: "${scheduleOf(index)}"`,
    `  timezone: ${zones[index % zones.length]}`,
    `  command: [echo, ${command}]`,
    '',
  ].join('\n');
}

const jobsPerFile = 50;

/** First applies measured per scheduler and size; the median is reported. */
const firstApplySamples = 3;

/** crontab(1) of Debian's cron refuses longer crontabs. */
const DEBIAN_CRONTAB_MAX_LINES = 10_000;

function writeJobFile(repository: string, file: number, edited?: number): void {
  const namespace = `ns-${file % 10}`;
  const folder = path.join(repository, namespace);
  const lines: string[] = [];
  for (let index = file * jobsPerFile; index < (file + 1) * jobsPerFile; index++) {
    lines.push(jobDocument(index, index === edited ? 'changed' : 'hello'));
  }
  execFileSync('mkdir', ['-p', folder]);
  writeFileSync(path.join(folder, `jobs-${file}.yaml`), lines.join(''));
}

function git(repository: string, ...args: string[]): string {
  return execFileSync(
    'git',
    ['-c', 'user.email=bench@cronfleet.invalid', '-c', 'user.name=bench', ...args],
    { cwd: repository, encoding: 'utf8' },
  ).trim();
}

function makeRepository(jobs: number): string {
  const repository = mkdtempSync(path.join(os.tmpdir(), 'cronfleet-bench-repo-'));
  git(repository, 'init', '-q', '-b', 'main');
  for (let file = 0; file < jobs / jobsPerFile; file++) writeJobFile(repository, file);
  git(repository, 'add', '-A');
  git(repository, 'commit', '-q', '-m', `${jobs} jobs`);
  return repository;
}

/** Runs a command; wall time, and the CPU of it and everything it waited for (`times`). */
function measured(
  argv: readonly string[],
  options: { env?: NodeJS.ProcessEnv; input?: Buffer; cwd?: string } = {},
): ProcessCost & { stdout: string; stderr: string; status: number } {
  const started = performance.now();
  const result = spawnSync(
    'bash',
    ['-c', '"$@" 2>"$CRONFLEET_BENCH_STDERR"; status=$?; times; exit $status', 'bash', ...argv],
    {
      encoding: 'utf8',
      env: { ...process.env, ...options.env, CRONFLEET_BENCH_STDERR: stderrFile },
      input: options.input,
      cwd: options.cwd,
      maxBuffer: 256 * 1024 * 1024,
    },
  );
  const wallMs = performance.now() - started;
  const lines = result.stdout.trimEnd().split('\n');
  const children = lines[lines.length - 1] ?? '';
  const seconds = [...children.matchAll(/(\d+)m([\d.]+)s/g)].map(
    (match) => Number(match[1]) * 60 + Number(match[2]),
  );
  const stderr = readFileSync(stderrFile, 'utf8');
  return {
    wallMs,
    cpuMs: ((seconds[0] ?? 0) + (seconds[1] ?? 0)) * 1000,
    stdout: lines.slice(0, -2).join('\n'),
    stderr,
    status: result.status ?? -1,
  };
}

const stderrFile = path.join(os.tmpdir(), `cronfleet-bench-stderr-${process.pid}`);

/** The `cpuMs` of the agent's tick log line ("reconciled" or "nothing to do"). */
function tickCpuMs(log: string): number | undefined {
  const values = [...log.matchAll(/cpuMs\W+([\d.]+)/g)].map((match) => Number(match[1]));
  return values[values.length - 1];
}

/** Every file under the folders, with its modification time and size. */
function snapshot(folders: readonly string[]): Map<string, string> {
  const files = new Map<string, string>();
  for (const folder of folders) {
    if (!existsSync(folder)) continue;
    for (const entry of readdirSync(folder, { recursive: true, withFileTypes: true })) {
      const file = path.join(entry.parentPath, entry.name);
      if (!entry.isFile() || file.includes(`${path.sep}repository${path.sep}`)) continue;
      const stats = statSync(file);
      files.set(file, `${stats.mtimeMs}:${stats.size}:${stats.ino}`);
    }
  }
  return files;
}

function changedFiles(before: Map<string, string>, after: Map<string, string>): string[] {
  return [...after].filter(([file, stamp]) => before.get(file) !== stamp).map(([file]) => file);
}

function crontabOf(user: string): string {
  const result = spawnSync('crontab', ['-u', user, '-l'], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout : '';
}

function changedLines(before: string, after: string): number {
  const old = new Set(before.split('\n'));
  return after.split('\n').filter((line) => line.trim() !== '' && !old.has(line)).length;
}

/** The cron.d files written the plain way, one by one: temporary file, fsync, rename. */
function writeFilesOneByOne(source: string): ProcessCost {
  const target = mkdtempSync(path.join(os.tmpdir(), 'cronfleet-bench-crond-alone-'));
  const files = readdirSync(source).filter((name) => !name.startsWith('.'));
  const contents = files.map((name) => readFileSync(path.join(source, name)));
  const cpu = process.cpuUsage();
  const started = performance.now();
  files.forEach((name, index) => {
    const temporary = path.join(target, `.${name}.tmp`);
    const fd = openSync(temporary, 'wx', 0o644);
    writeSync(fd, contents[index]!);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(temporary, path.join(target, name));
  });
  const directory = openSync(target, 'r');
  fsyncSync(directory);
  closeSync(directory);
  const wallMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  rmSync(target, { recursive: true, force: true });
  return { wallMs, cpuMs: (used.user + used.system) / 1000 };
}

export function canUseCrontab(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (a throwaway user and crontab -u)';
  if (spawnSync('crontab', ['-V']).error !== undefined)
    return 'no crontab binary (apt-get install cron)';
  return undefined;
}

export async function measureReconcile(options: ReconcileBenchOptions): Promise<{
  measurements: ReconcileMeasurement[];
  baselines: ReconcileBaselines[];
  skipped: string[];
}> {
  const { say } = options;
  const measurements: ReconcileMeasurement[] = [];
  const baselines: ReconcileBaselines[] = [];
  const skipped: string[] = [];
  const cleanups: (() => void)[] = [];
  const daemons: { measurement: ReconcileMeasurement; start: () => Promise<void> }[] = [];
  const crontabProblem = canUseCrontab();
  if (crontabProblem !== undefined) skipped.push(`crontab: ${crontabProblem}`);
  const user = `cfbench${process.pid}`;
  if (crontabProblem === undefined) {
    execFileSync('useradd', ['--no-create-home', user]);
    cleanups.push(() => {
      spawnSync('crontab', ['-u', user, '-r']);
      spawnSync('userdel', [user]);
    });
  }
  try {
    for (const jobs of options.jobCounts) {
      say(`reconcile: making a repository of ${jobs.toLocaleString('en-US')} jobs`);
      const repository = makeRepository(jobs);
      cleanups.push(() => rmSync(repository, { recursive: true, force: true }));
      const url = `file://${repository}`;

      // Git alone: a shallow clone, then a fetch with nothing new, as the agent does them.
      const clone = mkdtempSync(path.join(os.tmpdir(), 'cronfleet-bench-clone-'));
      cleanups.push(() => rmSync(clone, { recursive: true, force: true }));
      const gitClone = measured(['git', 'clone', '-q', '--depth', '1', url, path.join(clone, 'c')]);
      const fetches = Array.from({ length: 5 }, () =>
        measured([
          'git',
          '-C',
          path.join(clone, 'c'),
          'fetch',
          '-q',
          '--depth',
          '1',
          'origin',
          '+refs/heads/main:refs/remotes/origin/main',
        ]),
      ).sort((a, b) => a.wallMs - b.wallMs);
      baselines.push({ jobs, gitClone, gitFetch: fetches[2]! });

      // Debian's crontab(1) refuses a crontab of more than 10,000 lines ("crontab is too long"),
      // and the agent writes two per job: past that, only cron.d can hold the jobs.
      const crontabFits = jobs * 2 + 2 <= DEBIAN_CRONTAB_MAX_LINES;
      if (crontabProblem === undefined && !crontabFits) {
        skipped.push(
          `crontab with ${jobs} jobs: ${jobs * 2 + 2} lines, and Debian's crontab(1) refuses more than ${DEBIAN_CRONTAB_MAX_LINES} (the agent reports that refusal and writes nothing)`,
        );
      }
      const schedulers: ('crontab' | 'cron.d')[] =
        crontabProblem === undefined && crontabFits ? ['crontab', 'cron.d'] : ['cron.d'];
      for (const scheduler of schedulers) {
        const stateDir = mkdtempSync(path.join(os.tmpdir(), 'cronfleet-bench-state-'));
        const cronDir = mkdtempSync(path.join(os.tmpdir(), 'cronfleet-bench-crond-'));
        cleanups.push(() => {
          rmSync(stateDir, { recursive: true, force: true });
          rmSync(cronDir, { recursive: true, force: true });
        });
        if (scheduler === 'crontab') spawnSync('crontab', ['-u', user, '-r']);
        const env: NodeJS.ProcessEnv = {
          CRONFLEET_CRON_D_DIRECTORY: cronDir,
          CRONFLEET_CRONTAB_USER: user,
        };
        const sync = [
          process.execPath,
          options.agentBin,
          'sync',
          '--once',
          '--repo',
          url,
          '--state-dir',
          stateDir,
          '--scheduler',
          scheduler,
          '--log-level',
          'debug',
        ];
        const written = () =>
          scheduler === 'crontab' ? crontabOf(user) : [...snapshot([cronDir])].join('\n');

        // A first apply is one sample of a process's start, git's clone and a few thousand file
        // creations, each at the mercy of whatever else the machine does: the median of three,
        // each into an empty state directory and an empty scheduler. The last one stays for the
        // measurements that follow.
        say(`reconcile: ${jobs} jobs into ${scheduler}: first apply (3 times)`);
        const firstApplies: ReturnType<typeof measured>[] = [];
        for (let sample = 0; sample < firstApplySamples; sample++) {
          if (sample > 0) {
            rmSync(stateDir, { recursive: true, force: true });
            mkdirSync(stateDir, { mode: 0o700 });
            for (const name of readdirSync(cronDir)) rmSync(path.join(cronDir, name));
            if (scheduler === 'crontab') spawnSync('crontab', ['-u', user, '-r']);
          }
          const sampled = measured(sync, { env });
          if (sampled.status !== 0) {
            throw new Error(
              `first apply failed (${sampled.status}): ${sampled.stderr.slice(-2000)}`,
            );
          }
          firstApplies.push(sampled);
        }
        const first = [...firstApplies].sort((a, b) => a.wallMs - b.wallMs)[1]!;

        const before = snapshot([stateDir, cronDir]);
        const crontabBefore = scheduler === 'crontab' ? crontabOf(user) : '';
        say(`reconcile: ${jobs} jobs into ${scheduler}: sync --once with nothing changed`);
        const again = measured(sync, { env });
        if (again.status !== 0)
          throw new Error(`no-change tick failed: ${again.stderr.slice(-2000)}`);
        const after = snapshot([stateDir, cronDir]);
        const noChangeWrites =
          changedFiles(before, after).length +
          (scheduler === 'crontab' && crontabOf(user) !== crontabBefore ? 1 : 0);

        // One job's command changes.
        const entriesBefore = written();
        const edited = Math.floor(jobs / 2) + 1;
        writeJobFile(repository, Math.floor(edited / jobsPerFile), edited);
        git(repository, 'commit', '-q', '-am', `job ${edited} changed`);
        say(`reconcile: ${jobs} jobs into ${scheduler}: a one-job change`);
        const beforeChange = snapshot([stateDir, cronDir]);
        const change = measured(sync, { env });
        if (change.status !== 0)
          throw new Error(`one-job change failed: ${change.stderr.slice(-2000)}`);
        const changed = changedFiles(beforeChange, snapshot([stateDir, cronDir]));
        const specsWritten = changed.filter((file) =>
          file.includes(`${path.sep}specs${path.sep}`),
        ).length;
        const entriesWritten =
          scheduler === 'crontab'
            ? changedLines(entriesBefore, crontabOf(user))
            : changed.filter((file) => file.startsWith(cronDir)).length;
        git(repository, 'reset', '-q', '--hard', 'HEAD~1');

        const schedulerWriteAlone =
          scheduler === 'crontab'
            ? measured(['crontab', '-u', user, '-'], { input: Buffer.from(crontabOf(user)) })
            : writeFilesOneByOne(cronDir);

        const measurement: ReconcileMeasurement = {
          jobs,
          scheduler,
          firstApply: {
            wallMs: first.wallMs,
            cpuMs: first.cpuMs,
            tickCpuMs: tickCpuMs(first.stderr),
            samplesWallMs: firstApplies.map((sample) => sample.wallMs),
          },
          noChange: {
            wallMs: again.wallMs,
            cpuMs: again.cpuMs,
            tickCpuMs: tickCpuMs(again.stderr),
            filesWritten: noChangeWrites,
          },
          oneJobChange: {
            wallMs: change.wallMs,
            cpuMs: change.cpuMs,
            specsWritten,
            entriesWritten,
          },
          schedulerWriteAlone: {
            wallMs: schedulerWriteAlone.wallMs,
            cpuMs: schedulerWriteAlone.cpuMs,
          },
        };
        measurements.push(measurement);
        say(
          `  first apply ${(first.wallMs / 1000).toFixed(2)} s; no change ${again.wallMs.toFixed(0)} ms wall, tick ${measurement.noChange.tickCpuMs ?? '?'} ms CPU, ${noChangeWrites} files written; one-job change: ${specsWritten} spec, ${entriesWritten} entry`,
        );
        // The change was reset: the daemon starts from the first revision, re-applies the one
        // job once, then idles.
        daemons.push({
          measurement,
          start: () =>
            runDaemon(
              options,
              sync.filter((arg) => arg !== '--once'),
              env,
              measurement,
            ),
        });
      }
    }
    if (options.idleMinutes > 0 && daemons.length > 0) {
      say(
        `reconcile: ${daemons.length} daemons idle for ${options.idleMinutes} min, a tick every ${options.pollSeconds} s`,
      );
      await Promise.all(daemons.map((daemon) => daemon.start()));
    }
  } finally {
    for (const cleanup of cleanups.reverse()) cleanup();
    rmSync(stderrFile, { force: true });
  }
  return { measurements, baselines, skipped };
}

async function runDaemon(
  options: ReconcileBenchOptions,
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  measurement: ReconcileMeasurement,
): Promise<void> {
  const child = spawn(argv[0]!, argv.slice(1), {
    env: { ...process.env, ...env, CRONFLEET_POLL_INTERVAL: `${options.pollSeconds}s` },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    log += chunk;
    if (log.length > 4_000_000) log = log.slice(-2_000_000);
  });
  const ownCpuMs = () => {
    const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    const ticksPerSecond = 100;
    return ((Number(fields[11]) + Number(fields[12])) / ticksPerSecond) * 1000;
  };
  const idleTicks = () => (log.match(/nothing to do/g) ?? []).length;
  // Settle: the first ticks re-apply the reset job.
  await new Promise((resolve) => setTimeout(resolve, (options.pollSeconds * 2 + 5) * 1000));
  const cpuBefore = ownCpuMs();
  const ticksBefore = idleTicks();
  await new Promise((resolve) => setTimeout(resolve, options.idleMinutes * 60_000));
  const ticks = idleTicks() - ticksBefore;
  const cpu = ownCpuMs() - cpuBefore;
  const procStatus = readFileSync(`/proc/${child.pid}/status`, 'utf8');
  const kilobytes = (field: string) =>
    Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(procStatus)?.[1] ?? 0);
  const tickCpu = [...log.matchAll(/"cpuMs":([\d.]+),[^\n]*nothing to do/g)].map((match) =>
    Number(match[1]),
  );
  measurement.daemon = {
    idleRssMB: (kilobytes('VmRSS') * 1024) / 1e6,
    anonymousMB: (kilobytes('RssAnon') * 1024) / 1e6,
    fileMB: (kilobytes('RssFile') * 1024) / 1e6,
    tickCpuMs: tickCpu.slice(-Math.max(1, ticks)),
    ownCpuMsPerTick: ticks > 0 ? cpu / ticks : Number.NaN,
    ticks,
  };
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
}
