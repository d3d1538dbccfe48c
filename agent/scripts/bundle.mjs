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
import { rmSync } from 'node:fs';
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
