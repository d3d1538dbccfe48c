// `npm run bundle -w agent` (part of the build): esbuild bundles of what tsc compiled into dist/.
// - dist/fast/: the run wrapper's fast path, what cron starts on every fire. The state store stays
//   an external import (dist/state/agentStateStore.js, reached at the same relative depth): it is
//   loaded only for a job the fast path cannot find, and bundled it would drag zod and core's
//   contract into every fire.
// - dist/bundle/: every other command (main.js, one chunk per lazily loaded module). One file per
//   module graph loads in a fraction of the time the ES module loader takes to resolve and link a
//   few hundred files. pino and simple-git stay external: they are CommonJS that reads its own
//   location (__dirname), which an ES module bundle does not have. The banner gives the bundled
//   CommonJS (yaml) a `require` for Node's modules.
// - dist/bundle/main.cjs: the same commands as one CommonJS script, for `sync --once` and `plan`,
//   which bin/cronfleet-agent.js compiles through V8's code cache (src/bundleCodeCache.ts): a
//   process that runs one tick spends most of its start compiling. No chunks (a script has no
//   module graph; lazily imported modules stay lazily initialised; pino inside, so its dozen
//   CommonJS files are cached too); `import.meta.url` becomes the wrapper's `importMetaUrl`. The
//   build then runs `sync --once` once, from a temporary Git repository of manifests-example/
//   into the embedded scheduler with a temporary state directory and no CRONFLEET_* setting
//   (nothing outside them is read or written; with --once nothing fires), which leaves the code
//   cache of what a tick runs (git, load, plan, apply) next to the bundle.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';

const common = {
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
};

rmSync('dist/fast', { recursive: true, force: true });
rmSync('dist/bundle', { recursive: true, force: true });
await build({
  ...common,
  entryPoints: ['dist/run/runFastPath.js'],
  outdir: 'dist/fast',
  external: ['../state/agentStateStore.js'],
});
await build({
  ...common,
  entryPoints: ['dist/main.js'],
  outdir: 'dist/bundle',
  external: ['pino', 'simple-git'],
  banner: {
    js: "import { createRequire as createRequireForBundle } from 'node:module'; const require = createRequireForBundle(import.meta.url);",
  },
});
await build({
  entryPoints: ['dist/main.js'],
  outfile: 'dist/bundle/main.cjs',
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
  // pino is bundled here: a script has a __dirname, and pino reads it only to start transports
  // (worker threads), which the agent never uses. simple-git, for `plan --repo DIR` alone, stays.
  external: ['simple-git'],
  define: { 'import.meta.url': 'importMetaUrl' },
  // The CommonJS wrapper is part of the file: the loader compiles the file's text as it is read,
  // rather than a copy joined to a wrapper (2.6 MB more in the young generation).
  banner: { js: '(function (exports, require, module, __filename, __dirname, importMetaUrl) {' },
  footer: { js: '\n})' },
});
// esbuild writes code in ASCII but keeps comments as they are: one "—" makes V8 hold the whole
// script as UTF-16, twice the bytes. Each non-ASCII character left (in comments) is escaped.
const script = readFileSync('dist/bundle/main.cjs', 'utf8');
writeFileSync(
  'dist/bundle/main.cjs',
  script.replace(
    /[\u0080-\uffff]/g,
    (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`,
  ),
);

const examples = path.resolve('../manifests-example');
if (existsSync(examples)) {
  const work = mkdtempSync(path.join(os.tmpdir(), 'cronfleet-bundle-warmup-'));
  const repository = path.join(work, 'repository');
  // The agent's own environment stays out: no CRONFLEET_* setting (a backend, a config file)
  // reaches the warm-up.
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
  const git = (...args) =>
    spawnSync(
      'git',
      ['-c', 'user.email=build@cronfleet.invalid', '-c', 'user.name=build', ...args],
      { cwd: repository, env, stdio: 'ignore' },
    ).status;
  try {
    cpSync(examples, repository, { recursive: true });
    const committed =
      git('init', '-q', '-b', 'main') === 0 &&
      git('add', '-A') === 0 &&
      git('commit', '-q', '-m', 'warm-up') === 0;
    const warmup = committed
      ? spawnSync(
          process.execPath,
          [
            'bin/cronfleet-agent.js',
            'sync',
            '--once',
            '--repo',
            repository,
            '--state-dir',
            path.join(work, 'state'),
            '--scheduler',
            'embedded',
          ],
          { encoding: 'utf8', env, stdio: ['ignore', 'ignore', 'pipe'] },
        )
      : undefined;
    // 0 applied, 1 stalled (an example that cannot run here): both ran the code.
    if (warmup === undefined || (warmup.status !== 0 && warmup.status !== 1)) {
      console.warn(`bundle: the code-cache warm-up failed: ${warmup?.stderr ?? 'git failed'}`);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
