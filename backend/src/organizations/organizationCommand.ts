import { parseArgs } from 'node:util';
import { EmailAddress, NewPassword, OrganizationName, PersonName } from '@cronfleet/core/api';
import { eq } from 'drizzle-orm';
import { z } from 'zod';
import { hashPassword, verifyPassword } from '../auth/passwordHash.js';
import type { DatabaseHandle } from '../db/database.js';
import { users } from '../db/schema.js';
import { createOrganization } from './createOrganization.js';

export const organizationUsage = `Usage: cronfleet-backend org create --name NAME --admin-email EMAIL [--admin-name NAME] --password-stdin

Creates an organization and makes EMAIL its admin, whoever may create organizations through the
API (CRONFLEET_ORGANIZATION_CREATORS). Each run creates a new organization.

- EMAIL without an account: the account is created with the password read from standard input
  (at least 12 characters), never from the command line:

    printf '%s' "$ADMIN_PASSWORD" | cronfleet-backend org create --name "Acme Data" --admin-email ada@example.com --password-stdin

- EMAIL with an account: it becomes the admin and keeps its password. Leave --password-stdin out,
  or give that account's current password (a different one is refused: nothing is changed).

With the embedded database (no DATABASE_URL), stop the server first.`;

export interface OrganizationCommandIo {
  stdin: AsyncIterable<string | Buffer> & { isTTY?: boolean };
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

async function readAll(input: AsyncIterable<string | Buffer>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of input) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}

const CreateArguments = z.object({
  name: OrganizationName,
  email: EmailAddress,
  adminName: PersonName.optional(),
});

/** Where each value comes from, for error messages. */
const sourceOf: Record<string, string> = {
  name: '--name',
  email: '--admin-email',
  adminName: '--admin-name',
};

/**
 * `cronfleet-backend org create`: an organization and its admin, for automation. Answers the
 * exit code: 0 when created, 2 for a usage error, an invalid value or a password that does not
 * match the existing account's.
 */
export async function runOrganizationCommand(
  args: string[],
  openMigratedDatabase: () => Promise<DatabaseHandle>,
  io: OrganizationCommandIo,
): Promise<number> {
  const fail = (message: string) => {
    io.stderr.write(`${message}\n`);
    return 2;
  };
  const [subcommand, ...rest] = args;
  if (subcommand !== 'create') {
    return fail(
      `${subcommand === undefined ? 'Missing subcommand' : `Unknown subcommand "${subcommand}"`}\n${organizationUsage}`,
    );
  }
  if (rest.some((arg) => arg === '--password' || arg.startsWith('--password='))) {
    return fail(
      `A password on the command line would show in process lists and shell history: pipe it to --password-stdin\n${organizationUsage}`,
    );
  }
  let values: {
    name?: string;
    'admin-email'?: string;
    'admin-name'?: string;
    'password-stdin'?: boolean;
  };
  try {
    ({ values } = parseArgs({
      args: rest,
      options: {
        name: { type: 'string' },
        'admin-email': { type: 'string' },
        'admin-name': { type: 'string' },
        'password-stdin': { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    return fail(`${(error as Error).message}\n${organizationUsage}`);
  }
  const missing = (['name', 'admin-email'] as const).filter(
    (option) => values[option] === undefined,
  );
  if (missing.length > 0) {
    return fail(
      `Missing ${missing.map((option) => `--${option}`).join(', ')}\n${organizationUsage}`,
    );
  }
  const parsed = CreateArguments.safeParse({
    name: values.name,
    email: values['admin-email'],
    ...(values['admin-name'] === undefined ? {} : { adminName: values['admin-name'] }),
  });
  if (!parsed.success) {
    const lines = parsed.error.issues.map(
      (issue) =>
        `  ${sourceOf[String(issue.path[0] ?? '')] ?? String(issue.path[0])}: ${issue.message}`,
    );
    return fail(`Cannot create the organization:\n${lines.join('\n')}`);
  }
  let password: string | undefined;
  if (values['password-stdin'] === true) {
    if (io.stdin.isTTY === true) {
      return fail(
        `--password-stdin reads the password from a pipe or a file, not from a terminal (it would be echoed)\n${organizationUsage}`,
      );
    }
    // One trailing line break (from echo or a file) is not part of the password.
    password = (await readAll(io.stdin)).replace(/\r?\n$/, '');
  }
  const { name, email, adminName } = parsed.data;

  const database = await openMigratedDatabase();
  try {
    const [existing] = await database.db
      .select({ id: users.id, passwordHash: users.passwordHash })
      .from(users)
      .where(eq(users.email, email))
      .limit(1);
    let newAccount: { passwordHash: string } | undefined;
    if (existing === undefined) {
      if (password === undefined) {
        return fail(
          `Cannot create the organization: ${email} has no account yet; pipe a password for it to --password-stdin`,
        );
      }
      const checked = NewPassword.safeParse(password);
      if (!checked.success) {
        return fail(
          `Cannot create the organization:\n  the password on standard input: ${checked.error.issues[0]?.message ?? 'is not allowed'}`,
        );
      }
      newAccount = { passwordHash: await hashPassword(password) };
    } else if (password !== undefined && !(await verifyPassword(password, existing.passwordHash))) {
      return fail(
        `Cannot create the organization: ${email} already has an account, with another password. Leave --password-stdin out to make that account the admin (it keeps its password); nothing was changed.`,
      );
    }
    const created = await database.db.transaction(async (tx) => {
      let adminUserId = existing?.id;
      if (newAccount !== undefined) {
        const [user] = await tx
          .insert(users)
          .values({ email, name: adminName ?? '', passwordHash: newAccount.passwordHash })
          .onConflictDoNothing({ target: users.email })
          .returning({ id: users.id });
        if (user === undefined) return undefined;
        adminUserId = user.id;
      }
      if (adminUserId === undefined) throw new Error('no admin account to make');
      return createOrganization(tx, { name, adminUserId, adminEmail: email }, { via: 'cli' });
    });
    if (created === undefined) {
      return fail(
        `Cannot create the organization: ${email} got an account meanwhile; run the command again without --password-stdin`,
      );
    }
    io.stdout.write(
      `Created organization "${created.name}" (${created.id}) with its admin ${email}${newAccount === undefined ? ' (an existing account, which keeps its password)' : ' (a new account)'}.\n`,
    );
    return 0;
  } finally {
    await database.close();
  }
}
