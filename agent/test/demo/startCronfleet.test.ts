import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * The README's first command, as a fresh machine runs it: `npm start` (scripts/startCronfleet.ts
 * over the compiled backend and agent, which `npm test` builds first) must show runs of the demo
 * jobs, the deliberately failing one included, through the API within two minutes.
 */

const root = fileURLToPath(new URL('../../..', import.meta.url));
const tsx = createRequire(import.meta.url).resolve('tsx/cli');

interface Run {
  namespace: string;
  name: string;
  status: string;
  trigger: string;
  exitCode: number | null;
}

let launcher: ChildProcess | undefined;
let directory: string | undefined;

afterAll(async () => {
  if (launcher?.exitCode === null) {
    const exited = new Promise((resolve) => launcher?.once('exit', resolve));
    launcher.kill('SIGTERM');
    await exited;
  }
  if (directory !== undefined) await rm(directory, { recursive: true, force: true });
});

describe('npm start', () => {
  it('starts the backend and a demo agent whose runs appear within two minutes', async () => {
    directory = await mkdtemp(path.join(os.tmpdir(), 'cronfleet-start-'));
    const started = Date.now();
    launcher = spawn(process.execPath, [tsx, path.join(root, 'scripts', 'startCronfleet.ts')], {
      cwd: directory,
      env: {
        PATH: process.env.PATH,
        HOME: directory,
        PORT: '0',
        CRONFLEET_DATA_DIR: path.join(directory, 'data'),
        CRONFLEET_DEMO_DIR: path.join(directory, 'demo'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    const found = new Promise<{ url: string; token: string }>((resolve, reject) => {
      let url: string | undefined;
      for (const stream of [launcher!.stdout!, launcher!.stderr!]) {
        createInterface({ input: stream }).on('line', (line) => {
          lines.push(line);
          url ??= /listening on (http:\/\/\S+?)(?:\s|$)/.exec(line)?.[1];
          const token = /Bearer (cfp_[A-Za-z0-9_-]+)/.exec(line)?.[1];
          if (url !== undefined && token !== undefined) resolve({ url, token });
        });
      }
      launcher!.once('exit', (code) =>
        reject(new Error(`npm start exited with ${code}:\n${lines.join('\n')}`)),
      );
    });
    const { url, token } = await found;
    expect(lines.join('\n')).toContain('Demo: created the organization "Demo"');

    let runs: Run[] = [];
    const wanted = (run: Run, name: string, status: string) =>
      run.namespace === 'demo' && run.name === name && run.status === status;
    while (Date.now() - started < 120_000) {
      const response = await fetch(`${url}/api/v1/runs?namespace=demo&limit=100`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(response.status).toBe(200);
      runs = ((await response.json()) as { items: Run[] }).items;
      if (
        runs.some((run) => wanted(run, 'hello', 'succeeded')) &&
        runs.some((run) => wanted(run, 'always-fails', 'failed'))
      ) {
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 2_000));
    }
    expect(runs.find((run) => wanted(run, 'hello', 'succeeded'))).toMatchObject({
      trigger: 'scheduled',
      exitCode: 0,
    });
    expect(runs.find((run) => wanted(run, 'always-fails', 'failed'))).toMatchObject({
      exitCode: 1,
    });
    expect(Date.now() - started).toBeLessThan(120_000);
  }, 150_000);
});
