#!/usr/bin/env node
'use strict';
// The `cronfleet-agent` executable: the compiled agent in dist/. `run` (what cron starts on every
// fire) first tries the wrapper's fast path, which loads none of the rest of the agent: bundled
// into dist/fast/ by the build (one file loads in half the time of its ~25 modules), else as
// compiled by tsc. The other commands load dist/bundle/ the same way (scripts/bundle.mjs).
//
// CommonJS (bin/package.json), so that nothing asynchronous ran before the first line: libuv
// starts its thread pool on the first asynchronous call (an ES module entry is read through it)
// and sizes it from UV_THREADPOOL_SIZE once, for the process's life.
const { pathToFileURL } = require('node:url');
const path = require('node:path');

const argv = process.argv.slice(2);
const io = { stdout: process.stdout, stderr: process.stderr, environment: process.env };
const once = argv[0] === 'plan' || argv[0] === 'uninstall' || argv.includes('--once');

if (once && process.env.UV_THREADPOOL_SIZE === undefined) {
  // A tick that writes writes thousands of files (cron.d files, run specs), each fsynced before
  // it is renamed into place. The fsyncs wait on the disk, not on a processor, and the file system
  // commits those in flight together: 64 at a time instead of libuv's default 4 made 1,000 fsyncs
  // four times faster here. Only for one-shot commands: a daemon keeps few threads; its planning
  // ticks are `sync --once` processes of their own. Jobs and git never see the variable.
  process.env.UV_THREADPOOL_SIZE = '64';
  require('node:fs').stat(__filename, () => undefined);
  delete process.env.UV_THREADPOOL_SIZE;
}

const compiled = (relative) => pathToFileURL(path.join(__dirname, '..', relative)).href;

/** The bundle when the build made one, else the module as tsc compiled it. */
async function bundledOr(bundle, fallback) {
  try {
    return await import(compiled(bundle));
  } catch (error) {
    if (error?.code !== 'ERR_MODULE_NOT_FOUND') throw error;
    return import(compiled(fallback));
  }
}

async function main() {
  if (argv.includes('sync') && !argv.includes('--once')) {
    // The daemon idles between ticks, and what it does allocates in bursts (a tick; with the
    // embedded scheduler, planning too, which other daemons leave to a process of their own). V8
    // then grows its young generation to 32 MiB and never hands it back: a third of an idle
    // daemon's resident set. A growth factor of 1 keeps it at its first size, set before the
    // first module loads (loading alone would grow it); a burst scavenges more often instead. It
    // is the one such V8 setting that works after start-up, so no launcher (systemd, launchd, a
    // container) has to pass `--max-semi-space-size`.
    require('node:v8').setFlagsFromString('--semi-space-growth-factor=1');
  }
  if (argv[0] === 'run') {
    const fastPath = await bundledOr('dist/fast/runFastPath.js', 'dist/run/runFastPath.js');
    const code = await fastPath.runFastPath(argv, io);
    if (code !== undefined) return code;
  }
  if (argv[0] === 'plan' || (argv[0] === 'sync' && argv.includes('--once'))) {
    // One tick or one plan, then exit: the process compiles through V8's code cache
    // (dist/bundleCodeCache.js) a CommonJS bundle of the same code, when the build made one.
    const { loadCachedBundle } = await import(compiled('dist/bundleCodeCache.js'));
    let bundle;
    try {
      bundle = loadCachedBundle(path.join(__dirname, '..', 'dist', 'bundle', 'main.cjs'));
    } catch (error) {
      if (error?.code !== 'ENOENT') throw error;
    }
    if (bundle !== undefined) {
      const code = await bundle.exports.main(argv, io);
      bundle.saveCache();
      return code;
    }
  }
  // Every other command (and the daemon: a code cache would hold planning's code, which its
  // planning ticks leave to a process of their own).
  const entry = await bundledOr('dist/bundle/main.js', 'dist/main.js');
  return entry.main(argv, io);
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.exitCode = 1;
    throw error;
  },
);
