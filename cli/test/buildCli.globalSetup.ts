import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * The integration tests spawn the real `cronfleet` bin, which runs core/dist and cli/dist; build
 * both first so that the tests never run stale output.
 */
export default function buildCli(): void {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  for (const workspace of ['core', 'cli']) {
    const project = path.join(repoRoot, workspace, 'tsconfig.build.json');
    const build = spawnSync(process.execPath, [tsc, '-p', project], { encoding: 'utf8' });
    if (build.status !== 0) {
      throw new Error(
        `Building ${workspace} failed (tsc -p ${project}):\n${build.stdout}${build.stderr}`,
      );
    }
  }
}
