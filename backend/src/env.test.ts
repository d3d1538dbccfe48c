import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadBackendConfig } from './env.js';

describe('loadBackendConfig', () => {
  it('applies defaults: embedded PGlite in ./.cronfleet/data, port 8080, 90-day retention', () => {
    const config = loadBackendConfig({});
    expect(config).toMatchObject({
      port: 8080,
      host: '127.0.0.1',
      logLevel: 'info',
      databaseUrl: undefined,
      dataDir: path.resolve('.cronfleet/data'),
      runRetentionDays: 90,
      cookieSecure: 'auto',
      corsOrigins: [],
      lostRunAfterHours: 24,
      commandTtlSeconds: 600,
      maxCommandsPerHeartbeat: 10,
      workers: true,
    });
    expect(config.frontendDir).toMatch(/frontend[\\/]dist$/);
  });

  it('reads DATABASE_URL, CORS origins and booleans', () => {
    const config = loadBackendConfig({
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/cronfleet',
      CRONFLEET_CORS_ORIGINS: 'https://ops.example.com, https://b.example.com',
      CRONFLEET_WORKERS: 'false',
      CRONFLEET_LOST_RUN_AFTER_HOURS: '48',
      CRONFLEET_COMMAND_TTL_SECONDS: '120',
      CRONFLEET_MAX_COMMANDS_PER_HEARTBEAT: '3',
    });
    expect(config.databaseUrl).toBe('postgres://postgres@127.0.0.1:5432/cronfleet');
    expect(config.corsOrigins).toEqual(['https://ops.example.com', 'https://b.example.com']);
    expect(config.workers).toBe(false);
    expect(config.lostRunAfterHours).toBe(48);
    expect(config.commandTtlSeconds).toBe(120);
    expect(config.maxCommandsPerHeartbeat).toBe(3);
  });

  it('names the variable and the fix when a value is wrong', () => {
    expect(() => loadBackendConfig({ PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => loadBackendConfig({ PORT: '70000' })).toThrow(/PORT: must be between 0 and 65535/);
    expect(() => loadBackendConfig({ LOG_LEVEL: 'loud' })).toThrow(/LOG_LEVEL:/);
    expect(() => loadBackendConfig({ DATABASE_URL: 'mysql://x' })).toThrow(
      /DATABASE_URL: must be a postgres:\/\/ or postgresql:\/\/ URL/,
    );
    expect(() => loadBackendConfig({ CRONFLEET_LOST_RUN_AFTER_HOURS: '0' })).toThrow(
      /CRONFLEET_LOST_RUN_AFTER_HOURS: must be at least 1 hour/,
    );
    expect(() => loadBackendConfig({ CRONFLEET_COMMAND_TTL_SECONDS: '5' })).toThrow(
      /CRONFLEET_COMMAND_TTL_SECONDS: must be at least 30 seconds/,
    );
    expect(() => loadBackendConfig({ CRONFLEET_MAX_COMMANDS_PER_HEARTBEAT: '0' })).toThrow(
      /CRONFLEET_MAX_COMMANDS_PER_HEARTBEAT: must be at least 1/,
    );
    expect(() => loadBackendConfig({ CRONFLEET_CORS_ORIGINS: 'not a url' })).toThrow(
      /CRONFLEET_CORS_ORIGINS: each origin must be a URL/,
    );
  });

  it('lets only the bootstrap admin create organizations unless CRONFLEET_ORGANIZATION_CREATORS says any-user', () => {
    expect(loadBackendConfig({}).organizationCreators).toBe('bootstrap-admin');
    expect(
      loadBackendConfig({ CRONFLEET_ORGANIZATION_CREATORS: 'any-user' }).organizationCreators,
    ).toBe('any-user');
    expect(() => loadBackendConfig({ CRONFLEET_ORGANIZATION_CREATORS: 'everyone' })).toThrow(
      /CRONFLEET_ORGANIZATION_CREATORS: must be bootstrap-admin or any-user/,
    );
  });
});
