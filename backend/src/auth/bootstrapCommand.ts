import { parseArgs } from 'node:util';
import { BootstrapRequest } from '@cronfleet/core/api';
import type { DatabaseHandle } from '../db/database.js';
import { ApiError } from '../http/apiError.js';
import { bootstrapInstallation } from './bootstrapInstallation.js';

export const bootstrapUsage = `Usage: cronfleet-backend bootstrap --org NAME --email EMAIL [--name NAME] --password-stdin

Creates the first organization and its admin user; allowed only while no user exists.
The password (at least 12 characters) is read from standard input, never from the command line:

  printf '%s' "$ADMIN_PASSWORD" | cronfleet-backend bootstrap --org Acme --email ada@example.com --password-stdin

With the embedded database (no DATABASE_URL), stop the server first, or open the dashboard instead.`;

/** Where each field of the request comes from, for error messages. */
const sourceOf: Record<string, string> = {
  organizationName: '--org',
  email: '--email',
  name: '--name',
  password: 'the password on standard input',
};

export interface BootstrapCommandIo {
  stdin: AsyncIterable<string | Buffer> & { isTTY?: boolean };
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

async function readAll(input: AsyncIterable<string | Buffer>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of input) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * `cronfleet-backend bootstrap`: the first admin, for automation. Answers the exit code: 0 when
 * created, 2 for a usage error, an invalid value, or an installation that already has users.
 */
export async function runBootstrapCommand(
  args: string[],
  openMigratedDatabase: () => Promise<DatabaseHandle>,
  io: BootstrapCommandIo,
): Promise<number> {
  let values: { org?: string; email?: string; name?: string; 'password-stdin'?: boolean };
  if (args.some((arg) => arg === '--password' || arg.startsWith('--password='))) {
    io.stderr.write(
      `A password on the command line would show in process lists and shell history: pipe it to --password-stdin\n${bootstrapUsage}\n`,
    );
    return 2;
  }
  try {
    ({ values } = parseArgs({
      args,
      options: {
        org: { type: 'string' },
        email: { type: 'string' },
        name: { type: 'string' },
        'password-stdin': { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    io.stderr.write(`${(error as Error).message}\n${bootstrapUsage}\n`);
    return 2;
  }
  const missing = (['org', 'email'] as const).filter((option) => values[option] === undefined);
  if (missing.length > 0 || values['password-stdin'] !== true) {
    const what = [...missing.map((option) => `--${option}`)];
    if (values['password-stdin'] !== true) what.push('--password-stdin');
    io.stderr.write(`Missing ${what.join(', ')}\n${bootstrapUsage}\n`);
    return 2;
  }
  if (io.stdin.isTTY === true) {
    io.stderr.write(
      `--password-stdin reads the password from a pipe or a file, not from a terminal (it would be echoed)\n${bootstrapUsage}\n`,
    );
    return 2;
  }
  // One trailing line break (from echo or a file) is not part of the password.
  const password = (await readAll(io.stdin)).replace(/\r?\n$/, '');
  const parsed = BootstrapRequest.safeParse({
    organizationName: values.org,
    email: values.email,
    password,
    ...(values.name === undefined ? {} : { name: values.name }),
  });
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const field = String(issue.path[0] ?? '');
      return `  ${sourceOf[field] ?? field}: ${issue.message}`;
    });
    io.stderr.write(`Cannot bootstrap:\n${lines.join('\n')}\n`);
    return 2;
  }
  const database = await openMigratedDatabase();
  try {
    const created = await bootstrapInstallation(database.db, parsed.data, { via: 'cli' });
    io.stdout.write(
      `Created organization "${created.organization.name}" (${created.organization.id}) and its admin ${created.user.email} (${created.user.id}).\n` +
        'Sign in to the dashboard with this e-mail address and password.\n',
    );
    return 0;
  } catch (error) {
    if (error instanceof ApiError) {
      io.stderr.write(`Cannot bootstrap: ${error.message}\n`);
      return 2;
    }
    throw error;
  } finally {
    await database.close();
  }
}
