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
//   module graph; lazily imported modules stay lazily initialised); `import.meta.url` becomes the
//   wrapper's `importMetaUrl`. The build then runs `plan` once on manifests-example/ (embedded
//   scheduler, a temporary state directory: nothing outside it is read or written), which leaves
//   the code cache of what planning runs next to the bundle.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
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
  external: ['pino', 'simple-git'],
  define: { 'import.meta.url': 'importMetaUrl' },
});

const examples = path.resolve('../manifests-example');
if (existsSync(examples)) {
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'cronfleet-bundle-warmup-'));
  try {
    const warmup = spawnSync(
      process.execPath,
      [
        'bin/cronfleet-agent.js',
        'plan',
        '--repo',
        examples,
        '--state-dir',
        stateDir,
        '--scheduler',
        'embedded',
        '--json',
      ],
      { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] },
    );
    // plan exits 1 when it has changes to show: both mean it ran.
    if (warmup.status !== 0 && warmup.status !== 1) {
      console.warn(`bundle: the code-cache warm-up failed (${warmup.status}): ${warmup.stderr}`);
    }
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
}
