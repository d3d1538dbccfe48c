import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The agent package's own files (bin/, package.json), found from wherever this code runs: src/
 * under the tests, dist/ as tsc compiled it, or dist/bundle/ as esbuild bundled it (each at its
 * own depth). The folder is the nearest one up whose package.json names the agent.
 */
let root: string | undefined;

export function agentPackageFile(relative: string): string {
  root ??= findRoot(path.dirname(fileURLToPath(import.meta.url)));
  return path.join(root, relative);
}

function findRoot(start: string): string {
  for (let directory = start; ; directory = path.dirname(directory)) {
    const manifest = path.join(directory, 'package.json');
    if (existsSync(manifest)) {
      const { name } = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown };
      if (name === '@cronfleet/agent') return directory;
    }
    if (path.dirname(directory) === directory) {
      throw new Error(`no package.json of @cronfleet/agent above ${start}`);
    }
  }
}
