import { existsSync } from 'node:fs';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { openDatabase, postgresConnection } from './database.js';

describe('postgresConnection', () => {
  it('keeps a TCP URL as it is', () => {
    const url = 'postgres://cronfleet:secret@db.internal:6432/cronfleet?sslmode=require';
    expect(postgresConnection(url)).toEqual({ url });
  });

  it('takes a libpq-style ?host=/directory as the Unix socket in that directory', () => {
    expect(
      postgresConnection('postgres://postgres@localhost/test?host=/var/run/postgresql'),
    ).toEqual({
      url: 'postgres://postgres@localhost/test',
      path: '/var/run/postgresql/.s.PGSQL.5432',
    });
    expect(
      postgresConnection('postgres://postgres@localhost:5433/test?host=/tmp/&application_name=x'),
    ).toEqual({
      url: 'postgres://postgres@localhost:5433/test?application_name=x',
      path: '/tmp/.s.PGSQL.5433',
    });
  });
});

const socketDirectory = '/var/run/postgresql';
const serverUrl = process.env.DATABASE_URL;

describe.skipIf(
  serverUrl === undefined || serverUrl === '' || !existsSync(`${socketDirectory}/.s.PGSQL.5432`),
)('openDatabase over the Unix socket', () => {
  it('connects through ?host=/directory and runs statements, prepared ones too', async () => {
    const url = new URL(serverUrl ?? '');
    url.host = 'localhost';
    url.searchParams.set('host', socketDirectory);
    const database = await openDatabase({ databaseUrl: url.toString(), dataDir: 'memory://' });
    try {
      const [row] = await database.preparedRows<{ local: boolean }>(
        sql`select inet_server_addr() is null as local`,
      );
      // A Unix-socket session has no server address.
      expect(row?.local).toBe(true);
    } finally {
      await database.close();
    }
  });
});
