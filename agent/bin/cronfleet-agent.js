#!/usr/bin/env node
// The `cronfleet-agent` executable: the compiled agent in dist/. `run` (what cron starts on every
// fire) first tries the wrapper's fast path, which loads none of the rest of the agent: bundled
// into dist/fast/ by the build (one file loads in half the time of its ~25 modules), else as
// compiled by tsc.
const argv = process.argv.slice(2);
const io = { stdout: process.stdout, stderr: process.stderr, environment: process.env };
let code;
if (argv[0] === 'run') {
  let fastPath;
  try {
    fastPath = await import('../dist/fast/runFastPath.js');
  } catch (error) {
    if (error?.code !== 'ERR_MODULE_NOT_FOUND') throw error;
    fastPath = await import('../dist/run/runFastPath.js');
  }
  code = await fastPath.runFastPath(argv, io);
}
if (code === undefined) {
  const { main } = await import('../dist/main.js');
  code = await main(argv, io);
}
process.exitCode = code;
