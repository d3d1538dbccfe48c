#!/usr/bin/env node
// The `cronfleet-agent` executable: the compiled agent in dist/. `run` (what cron starts on every
// fire) first tries the wrapper's fast path, which loads none of the rest of the agent: bundled
// into dist/fast/ by the build (one file loads in half the time of its ~25 modules), else as
// compiled by tsc. The other commands load dist/bundle/ the same way (scripts/bundle.mjs).
import { fileURLToPath } from 'node:url';

const argv = process.argv.slice(2);
const io = { stdout: process.stdout, stderr: process.stderr, environment: process.env };
let code;
if (argv.includes('sync') && !argv.includes('--once')) {
  // The daemon idles between ticks, and what it does allocates in bursts (a tick; with the
  // embedded scheduler, planning too, which other daemons leave to a process of their own). V8
  // then grows its young generation to 32 MiB and never hands it back: a third of an idle
  // daemon's resident set. A growth factor of 1 keeps it at its first size, set before the first
  // module loads (loading alone would grow it); a burst scavenges more often instead. It is the
  // one such V8 setting that works after start-up, so no launcher (systemd, launchd, a
  // container) has to pass `--max-semi-space-size`.
  (await import('node:v8')).setFlagsFromString('--semi-space-growth-factor=1');
}
/** The bundle when the build made one, else the module as tsc compiled it. */
async function bundledOr(bundle, compiled) {
  try {
    return await import(bundle);
  } catch (error) {
    if (error?.code !== 'ERR_MODULE_NOT_FOUND') throw error;
    return import(compiled);
  }
}
if (argv[0] === 'run') {
  const fastPath = await bundledOr('../dist/fast/runFastPath.js', '../dist/run/runFastPath.js');
  code = await fastPath.runFastPath(argv, io);
}
if (code === undefined && (argv[0] === 'plan' || (argv[0] === 'sync' && argv.includes('--once')))) {
  // One tick or one plan, then exit: the process compiles through V8's code cache
  // (dist/bundleCodeCache.js) a CommonJS bundle of the same code, when the build made one.
  const { loadCachedBundle } = await import('../dist/bundleCodeCache.js');
  let bundle;
  try {
    bundle = loadCachedBundle(fileURLToPath(new URL('../dist/bundle/main.cjs', import.meta.url)));
  } catch (error) {
    if (error?.code !== 'ENOENT') throw error;
  }
  if (bundle !== undefined) {
    code = await bundle.exports.main(argv, io);
    bundle.saveCache();
  }
}
if (code === undefined) {
  // Every other command (and the daemon: a code cache would hold planning's code, which its
  // planning ticks leave to a process of their own).
  const entry = await bundledOr('../dist/bundle/main.js', '../dist/main.js');
  code = await entry.main(argv, io);
}
process.exitCode = code;
