import { Readable } from 'node:stream';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { bootstrapInstallation } from '../src/auth/bootstrapInstallation.js';
import { verifyPassword } from '../src/auth/passwordHash.js';
import { auditLog, memberships, organizations, users } from '../src/db/schema.js';
import { runOrganizationCommand } from '../src/organizations/organizationCommand.js';
import { createTestDatabase, type TestDatabase } from './testDatabase.js';

/**
 * `cronfleet-backend org create` (issue 11 §1), run in this process against a test database:
 * what main.ts calls for `org`, with the same standard streams.
 */

vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

const password = 'correct horse battery staple';

describe('cronfleet-backend org create', () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase();
    await bootstrapInstallation(
      database.db,
      { organizationName: 'Acme', email: 'ada@example.com', password },
      { via: 'cli' },
    );
  });
  afterAll(() => database.close());

  async function run(args: string[], stdin = '', isTTY = false) {
    let stdout = '';
    let stderr = '';
    const input = Object.assign(Readable.from(stdin === '' ? [] : [stdin]), { isTTY });
    const code = await runOrganizationCommand(
      args,
      // The command closes what it opened: hand it a handle whose close keeps the test database.
      async () => ({ ...database, close: async () => {} }),
      {
        stdin: input,
        stdout: { write: (text: string) => (stdout += text) },
        stderr: { write: (text: string) => (stderr += text) },
      },
    );
    return { code, stdout, stderr };
  }

  async function organizationsNamed(name: string) {
    return database.db.select().from(organizations).where(eq(organizations.name, name));
  }

  it('creates an organization and a new admin account from the password on stdin', async () => {
    const outcome = await run(
      ['create', '--name', 'Acme Data', '--admin-email', 'Grace@Example.com', '--password-stdin'],
      `${password}\n`,
    );
    expect(outcome, outcome.stderr).toMatchObject({ code: 0, stderr: '' });
    expect(outcome.stdout).toMatch(
      /Created organization "Acme Data" \(.+\) with its admin grace@example.com \(a new account\)/,
    );
    const [organization] = await organizationsNamed('Acme Data');
    const [grace] = await database.db
      .select()
      .from(users)
      .where(eq(users.email, 'grace@example.com'));
    expect(grace?.installationAdmin).toBe(false);
    expect(await verifyPassword(password, grace?.passwordHash)).toBe(true);
    const [membership] = await database.db
      .select()
      .from(memberships)
      .where(eq(memberships.organizationId, organization?.id ?? ''));
    expect(membership).toMatchObject({ userId: grace?.id, role: 'admin' });
    const [entry] = await database.db
      .select()
      .from(auditLog)
      .where(eq(auditLog.organizationId, organization?.id ?? ''));
    expect(entry).toMatchObject({ action: 'organization.create', actorType: 'system' });
    expect(entry?.details).toMatchObject({ via: 'cli', adminEmail: 'grace@example.com' });
    expect(JSON.stringify(entry)).not.toContain(password);
  });

  it('makes an existing account the admin without touching its password', async () => {
    const [before] = await database.db
      .select()
      .from(users)
      .where(eq(users.email, 'ada@example.com'));
    const without = await run(['create', '--name', 'Ada Two', '--admin-email', 'ada@example.com']);
    expect(without.code, without.stderr).toBe(0);
    expect(without.stdout).toMatch(/an existing account, which keeps its password/);
    const same = await run(
      ['create', '--name', 'Ada Three', '--admin-email', 'ada@example.com', '--password-stdin'],
      password,
    );
    expect(same.code, same.stderr).toBe(0);
    const wrong = await run(
      ['create', '--name', 'Ada Four', '--admin-email', 'ada@example.com', '--password-stdin'],
      'another long password here',
    );
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/another password.*nothing was changed/);
    expect(await organizationsNamed('Ada Four')).toEqual([]);
    const [after] = await database.db
      .select()
      .from(users)
      .where(eq(users.email, 'ada@example.com'));
    expect(after?.passwordHash).toBe(before?.passwordHash);
  });

  it('answers usage errors and bad values with exit code 2 and what to fix, creating nothing', async () => {
    const before = (await database.db.select().from(organizations)).length;
    const cases: [string[], string, RegExp][] = [
      [[], '', /Missing subcommand/],
      [['delete'], '', /Unknown subcommand "delete"/],
      [['create', '--admin-email', 'x@example.com'], '', /Missing --name/],
      [['create', '--name', 'N'], '', /Missing --admin-email/],
      [
        ['create', '--name', 'N', '--admin-email', 'x@example.com', '--password', 'p'],
        '',
        /process lists/,
      ],
      [
        ['create', '--name', 'N', '--admin-email', 'x@example.com', '--bogus'],
        '',
        /Unknown option/,
      ],
      [
        ['create', '--name', 'N', '--admin-email', 'not an address', '--password-stdin'],
        password,
        /--admin-email: must be an e-mail address/,
      ],
      [
        ['create', '--name', 'two\nlines', '--admin-email', 'x@example.com', '--password-stdin'],
        password,
        /--name: must be a single line/,
      ],
      [
        ['create', '--name', 'N', '--admin-email', 'new@example.com'],
        '',
        /has no account yet; pipe a password/,
      ],
      [
        ['create', '--name', 'N', '--admin-email', 'new@example.com', '--password-stdin'],
        'short',
        /at least 12 characters/,
      ],
    ];
    for (const [args, stdin, message] of cases) {
      const outcome = await run(args, stdin);
      expect(outcome.code, `${args.join(' ')}: ${outcome.stderr}`).toBe(2);
      expect(outcome.stderr).toMatch(message);
      expect(outcome.stdout).toBe('');
    }
    const fromTerminal = await run(
      ['create', '--name', 'N', '--admin-email', 'new@example.com', '--password-stdin'],
      '',
      true,
    );
    expect(fromTerminal.code).toBe(2);
    expect(fromTerminal.stderr).toMatch(/not from a terminal/);
    expect(await database.db.select().from(organizations)).toHaveLength(before);
    expect(
      await database.db.select().from(users).where(eq(users.email, 'new@example.com')),
    ).toEqual([]);
  });
});
