/**
 * A server under test in its own Node process, so the load generator and the server never share
 * an event loop. The process listens on PORT=0 and prints its URL; we wait for that line.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

export interface ServerProcess {
  readonly url: string;
  readonly pid: number;
  /** What the process wrote to stderr so far (warnings and errors). */
  stderr(): string;
  /** SIGTERM, then SIGKILL after a grace period; resolves when the process has exited. */
  stop(): Promise<void>;
}

export interface ServerProcessOptions {
  /** What the report calls it. */
  name: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  startTimeoutMs?: number;
}

const listeningLine = /listening on (http:\/\/[^\s)]+)/;
const keptOutputChars = 64 * 1024;

export async function startServerProcess(options: ServerProcessOptions): Promise<ServerProcess> {
  const child = spawn(process.execPath, options.args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-keptOutputChars);
  });

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `${options.name} did not print "listening on http://…" within ${options.startTimeoutMs ?? 30_000} ms\n` +
            `stdout: ${stdout}\nstderr: ${stderr}`,
        ),
      );
    }, options.startTimeoutMs ?? 30_000);
    child.stdout.on('data', (chunk: string) => {
      stdout = (stdout + chunk).slice(-keptOutputChars);
      const match = listeningLine.exec(stdout);
      if (match?.[1] !== undefined) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(
        new Error(
          `${options.name} exited before listening (code ${code}, signal ${signal})\n` +
            `stdout: ${stdout}\nstderr: ${stderr}`,
        ),
      );
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });

  return {
    url,
    pid: child.pid ?? -1,
    stderr: () => stderr,
    stop: () => stopProcess(child),
  };
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
