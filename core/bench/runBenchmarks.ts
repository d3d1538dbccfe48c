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
}

const benchmarks: Array<() => Promise<BenchResult>> = [benchManifestLoad, benchCronNextFire];

const rows: string[] = [];
for (const run of benchmarks) {
  const result = await run();
  const perSecond = Math.round((result.operations / result.milliseconds) * 1000);
  rows.push(
    `${result.name.padEnd(44)} ${String(result.operations).padStart(8)} ops ` +
      `${result.milliseconds.toFixed(1).padStart(9)} ms ${String(perSecond).padStart(10)} ops/s   target: ${result.target}`,
  );
}
process.stdout.write(`${rows.join('\n')}\n`);
