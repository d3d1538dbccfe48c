import {
  chmod,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { secureDataDirectory } from '../src/db/dataDirectoryModes.js';
import { openDatabase } from '../src/db/database.js';

/**
 * Issue 11 §3b: embedded PGlite's files were open to every local user (the data directory 0755,
 * its files 0666, among them the password hashes and run output). The directory and every
 * directory in it are now 0700 and every file 0600, repaired whenever the database opens (with a
 * warning when others could enter the directory) and closes. Real files, in a temporary directory.
 */

let root: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'cronfleet-modes-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Every directory and file under `directory` (itself included) with its permission bits. */
async function modesUnder(
  directory: string,
): Promise<{ path: string; kind: string; mode: number }[]> {
  const found = [
    { path: directory, kind: 'directory', mode: (await stat(directory)).mode & 0o777 },
  ];
  for (const entry of await readdir(directory, { withFileTypes: true, recursive: true })) {
    const target = path.join(entry.parentPath, entry.name);
    const { mode } = await lstat(target);
    if (entry.isDirectory()) found.push({ path: target, kind: 'directory', mode: mode & 0o777 });
    else if (entry.isFile()) found.push({ path: target, kind: 'file', mode: mode & 0o777 });
  }
  return found;
}

function expectPrivate(modes: { path: string; kind: string; mode: number }[]): void {
  const loose = modes.filter(
    (entry) => entry.mode !== (entry.kind === 'directory' ? 0o700 : 0o600),
  );
  expect(loose.map((entry) => `${entry.path} ${entry.mode.toString(8)}`)).toEqual([]);
}

interface LogLine {
  level: 'warn' | 'info';
  details: unknown;
  message: string;
}

function recordingLogger(lines: LogLine[]) {
  return {
    warn: (details: unknown, message: string) => lines.push({ level: 'warn', details, message }),
    info: (details: unknown, message: string) => lines.push({ level: 'info', details, message }),
  } as never;
}

describe('embedded PGlite data directory', () => {
  it('creates a new data directory 0700 with every file 0600, and keeps it so after closing', async () => {
    const dataDir = path.join(root, 'fresh', 'data');
    const lines: LogLine[] = [];
    const database = await openDatabase({ dataDir, logger: recordingLogger(lines) });
    await database.rows(sql`create table secrets (hash text)`);
    await database.rows(sql`insert into secrets values ('scrypt$…')`);
    const open = await modesUnder(dataDir);
    expect(open.filter((entry) => entry.kind === 'file').length).toBeGreaterThan(100);
    expectPrivate(open);
    await database.close();
    // Files PGlite created while it ran (the table above) are repaired when it closes.
    expectPrivate(await modesUnder(dataDir));
    // A new directory exposed nothing: no warning.
    expect(lines.filter((line) => line.level === 'warn')).toEqual([]);
    // The parent folders made for it are private too.
    expect((await stat(path.join(root, 'fresh'))).mode & 0o777).toBe(0o700);
  });

  it('repairs an exposed data directory at open, warns once, and the database still works', async () => {
    const dataDir = path.join(root, 'fresh', 'data');
    // As an older version left it: the directory 0755, files 0666, a subdirectory 0777.
    await chmod(dataDir, 0o755);
    const files = (await modesUnder(dataDir)).filter((entry) => entry.kind === 'file');
    for (const file of files.slice(0, 50)) await chmod(file.path, 0o666);
    await chmod(path.join(dataDir, 'base'), 0o777);

    const lines: LogLine[] = [];
    const database = await openDatabase({ dataDir, logger: recordingLogger(lines) });
    const warnings = lines.filter((line) => line.level === 'warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.message).toMatch(/was open to other users \(mode 0755\); repaired/);
    expect(warnings[0]?.details).toMatchObject({ dataDir, repaired: 52 });
    expectPrivate(await modesUnder(dataDir));
    const [row] = await database.rows<{ hash: string }>(sql`select hash from secrets`);
    expect(row?.hash).toBe('scrypt$…');
    await database.close();
  });

  it('reports files loosened inside a private directory at info level, not as a warning', async () => {
    const dataDir = path.join(root, 'fresh', 'data');
    const [file] = (await modesUnder(dataDir)).filter((entry) => entry.kind === 'file');
    if (file === undefined) throw new Error('no file');
    await chmod(file.path, 0o644);
    const lines: LogLine[] = [];
    const database = await openDatabase({ dataDir, logger: recordingLogger(lines) });
    expect(lines.map((line) => line.level)).toEqual(['info']);
    expectPrivate(await modesUnder(dataDir));
    await database.close();
  });
});

describe('secureDataDirectory', () => {
  it('neither follows nor changes a symbolic link inside the directory', async () => {
    const directory = path.join(root, 'links');
    const outside = path.join(root, 'outside.txt');
    await mkdir(directory, { mode: 0o755 });
    await writeFile(outside, 'not the database', { mode: 0o644 });
    await chmod(outside, 0o644);
    await symlink(outside, path.join(directory, 'link'));
    await writeFile(path.join(directory, 'file'), 'x');
    await chmod(path.join(directory, 'file'), 0o666);
    const repairs = await secureDataDirectory(directory);
    expect(repairs.map((repair) => [path.basename(repair.path), repair.from, repair.to])).toEqual([
      ['links', 0o755, 0o700],
      ['file', 0o666, 0o600],
    ]);
    expect((await stat(outside)).mode & 0o777).toBe(0o644);
    expect(await secureDataDirectory(directory)).toEqual([]);
  });
});
