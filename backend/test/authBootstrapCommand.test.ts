import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyPassword } from '../src/auth/passwordHash.js';
import { openDatabase, type DatabaseHandle } from '../src/db/database.js';
import { auditLog, memberships, organizations, users } from '../src/db/schema.js';
import { createTestDatabase, testDatabaseUrl, type TestDatabase } from './testDatabase.js';

/**
 * `cronfleet-backend bootstrap`, as an operator runs it: the built backend (dist) in a child
 * process, the password on stdin, against a fresh PostgreSQL database (DATABASE_URL set) or an
 * embedded PGlite data directory in a temporary folder.
 */

const backendDir = fileURLToPath(new URL('..', import.meta.url));
const coreDir = path.join(backendDir, '..', 'core');
const mainScript = path.join(backendDir, 'dist', 'main.js');
const password = 'correct horse battery staple';

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runBootstrap(args: string[], stdin: string, env: NodeJS.ProcessEnv): Promise<Outcome> {
  return runBackend(['bootstrap', ...args], stdin, env);
}

function runBackend(args: string[], stdin: string, env: NodeJS.ProcessEnv): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [mainScript, ...args], {
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

describe('cronfleet-backend bootstrap', { timeout: 120_000 }, () => {
  let dataDir: string;
  let postgresDatabase: TestDatabase | undefined;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    // The command runs from dist: build core (its runtime import) and the backend first.
    const exec = promisify(execFile);
    const tsc = path.join(backendDir, '..', 'node_modules', 'typescript', 'bin', 'tsc');
    await exec(process.execPath, [tsc, '-p', path.join(coreDir, 'tsconfig.build.json')]);
    await exec(process.execPath, [tsc, '-p', path.join(backendDir, 'tsconfig.build.json')]);

    dataDir = await mkdtemp(path.join(tmpdir(), 'cronfleet-bootstrap-'));
    const base: NodeJS.ProcessEnv = { PATH: process.env.PATH, LOG_LEVEL: 'warn' };
    if (testDatabaseUrl !== undefined && testDatabaseUrl !== '') {
      postgresDatabase = await createTestDatabase({ migrate: false });
      env = { ...base, DATABASE_URL: postgresDatabase.url };
    } else {
      env = { ...base, CRONFLEET_DATA_DIR: dataDir };
    }
  }, 240_000);

  afterAll(async () => {
    await postgresDatabase?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  /** The database the command wrote to, opened after the command exited. */
  async function inspect<T>(read: (database: DatabaseHandle) => Promise<T>): Promise<T> {
    if (postgresDatabase !== undefined) return read(postgresDatabase);
    const database = await openDatabase({ dataDir });
    try {
      return await read(database);
    } finally {
      await database.close();
    }
  }

  it('rejects a short password and a password on the command line, creating nothing', async () => {
    const short = await runBootstrap(
      ['--org', 'Acme', '--email', 'ada@example.com', '--password-stdin'],
      'too short\n',
      env,
    );
    expect(short.code).toBe(2);
    expect(short.stderr).toMatch(/the password on standard input: must be at least 12 characters/);

    const onArgv = await runBootstrap(
      ['--org', 'Acme', '--email', 'ada@example.com', '--password', password],
      '',
      env,
    );
    expect(onArgv.code).toBe(2);
    expect(onArgv.stderr).toMatch(/pipe it to --password-stdin/);

    const missing = await runBootstrap(
      ['--email', 'not-an-email', '--password-stdin'],
      password,
      env,
    );
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/Missing --org/);

    const badEmail = await runBootstrap(
      ['--org', 'Acme', '--email', 'not-an-email', '--password-stdin'],
      password,
      env,
    );
    expect(badEmail.code).toBe(2);
    expect(badEmail.stderr).toMatch(/--email: must be an e-mail address/);
  });

  it('creates the first organization and admin from stdin, once', async () => {
    const created = await runBootstrap(
      [
        '--org',
        'Acme Corp',
        '--email',
        'Ada@Example.com',
        '--name',
        'Ada Lovelace',
        '--password-stdin',
      ],
      `${password}\n`,
      env,
    );
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(
      /Created organization "Acme Corp" \(.+\) and its admin ada@example\.com/,
    );

    const again = await runBootstrap(
      ['--org', 'Other', '--email', 'other@example.com', '--password-stdin'],
      password,
      env,
    );
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already set up/);

    await inspect(async (database) => {
      const orgs = await database.db.select().from(organizations);
      const people = await database.db.select().from(users);
      const members = await database.db.select().from(memberships);
      expect(orgs.map((org) => org.name)).toEqual(['Acme Corp']);
      expect(people).toHaveLength(1);
      expect(people[0]).toMatchObject({ email: 'ada@example.com', name: 'Ada Lovelace' });
      // The trailing newline of the pipe is not part of the password; the hash is not the password.
      expect(people[0]?.passwordHash).not.toContain(password);
      expect(await verifyPassword(password, people[0]?.passwordHash)).toBe(true);
      expect(members).toEqual([
        expect.objectContaining({
          organizationId: orgs[0]?.id,
          userId: people[0]?.id,
          role: 'admin',
        }),
      ]);
      const audit = await database.db.select().from(auditLog);
      expect(audit).toEqual([
        expect.objectContaining({
          action: 'installation.bootstrap',
          actorType: 'system',
          organizationId: orgs[0]?.id,
        }),
      ]);
    });
  });

  it('creates another organization with `org create`, the bootstrap admin its admin', async () => {
    const usage = await runBackend(['org', 'remove'], '', env);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/Unknown subcommand "remove"/);

    const created = await runBackend(
      ['org', 'create', '--name', 'Acme Data', '--admin-email', 'ada@example.com'],
      '',
      env,
    );
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(
      /Created organization "Acme Data" \(.+\) with its admin ada@example\.com \(an existing account/,
    );
    await inspect(async (database) => {
      const [ada] = await database.db.select().from(users);
      // The bootstrap's admin is the installation admin, who may create organizations.
      expect(ada?.installationAdmin).toBe(true);
      const orgs = await database.db.select().from(organizations);
      expect(orgs.map((org) => org.name).sort()).toEqual(['Acme Corp', 'Acme Data']);
      const members = await database.db.select().from(memberships);
      expect(members).toHaveLength(2);
      expect(members.every((member) => member.userId === ada?.id && member.role === 'admin')).toBe(
        true,
      );
    });
  });
});
