import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';

/** Starts and watches spoolWriterProcess.ts children (run wrapper stand-ins) for spool tests. */

const repository = path.resolve(import.meta.dirname, '../../..');
const writerScript = path.join(import.meta.dirname, 'spoolWriterProcess.ts');

export interface Writer {
  child: ChildProcess;
  /** `runId/kind` lines printed: check-ins the spool reported durable. */
  durable: string[];
  stderr: () => string;
}

export interface WriterOptions {
  directory: string;
  /** Distinguishes the writer's run ids (runIdOf(n, prefix)) and its output letter. */
  prefix: number;
  /** Runs to record (start + finish each); 0 records until killed. */
  runs: number;
  /** Characters in each finish's outputHead and outputTail. */
  outputBytes: number;
  segmentBytes?: number;
  /** tsx keeps its cache under TMPDIR: give a folder the test removes afterwards. */
  temporaryDir: string;
}

export function startWriter(options: WriterOptions): Writer {
  const child = spawn(
    process.execPath,
    [
      '--conditions=@cronfleet/source',
      '--import',
      'tsx',
      writerScript,
      options.directory,
      String(options.prefix),
      String(options.runs),
      String(options.outputBytes),
      ...(options.segmentBytes === undefined ? [] : [String(options.segmentBytes)]),
    ],
    {
      cwd: repository,
      env: { ...process.env, TMPDIR: options.temporaryDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const durable: string[] = [];
  let partial = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    durable.push(...lines);
  });
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr += chunk;
  });
  return { child, durable, stderr: () => stderr };
}

export async function exitOf(
  writer: Writer,
): Promise<{ code: number | null; signal: string | null }> {
  if (writer.child.exitCode !== null || writer.child.signalCode !== null) {
    return { code: writer.child.exitCode, signal: writer.child.signalCode };
  }
  const [code, signal] = (await once(writer.child, 'exit')) as [number | null, string | null];
  return { code, signal };
}

export async function until(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
