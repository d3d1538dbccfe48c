/**
 * `npm run bench -w core`: the core benchmarks of issue 2, measured in one run.
 * Each benchmark reports operations, elapsed milliseconds and its target.
 */
import { benchCronNextFire } from './cronBench.js';
import { benchManifestLoad } from './manifestBench.js';

interface BenchResult {
  name: string;
  operations: number;
  milliseconds: number;
  target: string;
  baseline: { name: string; milliseconds: number };
}

const benchmarks: Array<() => Promise<BenchResult>> = [benchManifestLoad, benchCronNextFire];

const rows: string[] = [];
for (const run of benchmarks) {
  const result = await run();
  const perSecond = Math.round((result.operations / result.milliseconds) * 1000);
  const ratio = result.baseline.milliseconds / result.milliseconds;
  rows.push(
    `${result.name}\n` +
      `  ${result.operations} ops in ${result.milliseconds.toFixed(1)} ms (${perSecond} ops/s); target: ${result.target}\n` +
      `  baseline (${result.baseline.name}): ${result.baseline.milliseconds.toFixed(1)} ms, ` +
      `Cronfleet is ${ratio.toFixed(2)}x its speed`,
  );
}
process.stdout.write(`${rows.join('\n')}\n`);
