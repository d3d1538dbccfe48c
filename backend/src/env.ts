import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { isNetworkRange } from './notifications/addressPolicy.js';

/** The dashboard build in this checkout (frontend/dist), used when CRONFLEET_FRONTEND_DIR is unset. */
const bundledFrontendDir = fileURLToPath(new URL('../../frontend/dist', import.meta.url));

const booleanText = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
  .transform((text) => text === 'true' || text === '1' || text === 'yes');

/**
 * The backend's one configuration module: the environment is parsed once, at start, by
 * `loadBackendConfig()`; nothing else in the backend reads `process.env`.
 */
export const BackendConfig = z
  .object({
    port: z.coerce
      .number({ message: 'must be a number' })
      .int()
      .min(0)
      .max(65535, 'must be between 0 and 65535')
      .default(8080),
    host: z.string().min(1).default('127.0.0.1'),
    logLevel: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info'),
    /** PostgreSQL (postgres://…). Absent: embedded PGlite in dataDir. */
    databaseUrl: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
      .optional(),
    /** Where embedded PGlite keeps its files when DATABASE_URL is absent. */
    dataDir: z.string().min(1).default('./.cronfleet/data'),
    /** Connections in the PostgreSQL pool of this replica. */
    databasePoolSize: z.coerce.number().int().min(1).max(200).default(10),
    /** Served at / when it exists (the React dashboard build). */
    frontendDir: z.string().min(1).default(bundledFrontendDir),
    /** Runs older than this many days are deleted by the retention worker. */
    runRetentionDays: z.coerce.number().int().min(1).max(36500).default(90),
    /** A text search of the runs (`q`) is cancelled after this many milliseconds. */
    runSearchTimeoutMs: z.coerce.number().int().min(1).max(3_600_000).default(10_000),
    /** Dashboard sessions expire after this many hours. */
    sessionTtlHours: z.coerce
      .number()
      .int()
      .min(1)
      .max(24 * 365)
      .default(24 * 7),
    /**
     * Mark the session cookie Secure. Default: when the request came over https (directly or,
     * with trustProxy, through a proxy's X-Forwarded-Proto).
     */
    cookieSecure: z.enum(['auto', 'always', 'never']).default('auto'),
    /** Express's trust proxy setting: hops to trust in X-Forwarded-For, or false. */
    trustProxy: z.coerce.number().int().min(0).max(10).default(0),
    /** Origins allowed by CORS (comma-separated); none by default. */
    corsOrigins: z
      .string()
      .default('')
      .transform((text) =>
        text
          .split(',')
          .map((origin) => origin.trim())
          .filter((origin) => origin !== ''),
      )
      .pipe(
        z.array(z.url({ message: 'each origin must be a URL such as https://ops.example.com' })),
      ),
    /**
     * A run still `running` this many hours after it started is marked `lost` when its job sets
     * no monitoring.maxRuntime (with one, maxRuntime decides).
     */
    lostRunAfterHours: z.coerce
      .number({ message: 'must be a number of hours' })
      .int('must be a whole number of hours')
      .min(1, 'must be at least 1 hour')
      .max(24 * 366, 'must be at most 8784 hours (a year)')
      .default(24),
    /** A reconcile-now or run-now request that no heartbeat picked up in this time is dropped. */
    commandTtlSeconds: z.coerce
      .number({ message: 'must be a number of seconds' })
      .int('must be a whole number of seconds')
      .min(30, 'must be at least 30 seconds (agents send a heartbeat every 30 s by default)')
      .max(7 * 24 * 3600, 'must be at most 604800 seconds (a week)')
      .default(600),
    /**
     * The most commands one heartbeat hands over; the rest wait for the next heartbeat (oldest
     * first), so that a burst of run-now requests reaches an agent a few at a time.
     */
    maxCommandsPerHeartbeat: z.coerce
      .number({ message: 'must be a number of commands' })
      .int('must be a whole number of commands')
      .min(1, 'must be at least 1')
      .max(1000, 'must be at most 1000')
      .default(10),
    /** Let background workers (retention, lost runs) run in this process. */
    workers: booleanText.default(true),
    /**
     * The origin the dashboard is served from, e.g. https://cron.example.com. A write made with the
     * session cookie must come from it (or from a CORS origin), else it is refused as a cross-site
     * request. Unset: the origin the request was sent to (the dashboard this backend serves).
     */
    dashboardOrigin: z
      .url({ message: 'must be an origin such as https://cron.example.com' })
      .transform((url) => new URL(url).origin)
      .optional(),
    /**
     * The address people open the dashboard at, e.g. https://cron.example.com: notifications link
     * to it. Unset: CRONFLEET_DASHBOARD_ORIGIN, else http://HOST:PORT.
     */
    publicUrl: z
      .url({ message: 'must be a URL such as https://cron.example.com' })
      .refine((url) => /^https?:$/.test(new URL(url).protocol), {
        message: 'must start with http:// or https://',
      })
      .transform((url) => url.replace(/\/+$/, ''))
      .optional(),
    /** When set, GET /metrics needs `Authorization: Bearer <this token>`. */
    metricsToken: z
      .string()
      .min(16, 'must be at least 16 characters (e.g. openssl rand -hex 32)')
      .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces')
      .optional(),
    /**
     * Who may create organizations (POST /api/v1/organizations): `bootstrap-admin`, the user the
     * first-run bootstrap created; or `any-user`, every signed-in user. The command
     * `cronfleet-backend org create` works either way (it needs the database, not an account).
     */
    organizationCreators: z
      .enum(['bootstrap-admin', 'any-user'], { message: 'must be bootstrap-admin or any-user' })
      .default('bootstrap-admin'),
    /**
     * The key that encrypts notification channel secrets at rest: base64 of 32 random bytes
     * (openssl rand -base64 32). Unset: generated once into <dataDir>/secrets.key (mode 0600).
     * Every replica on one PostgreSQL needs the same key, so set it when running several.
     */
    secretsKey: z
      .string()
      .refine((text) => /^[A-Za-z0-9+/]{43}=$/.test(text.trim()), {
        message: 'must be base64 of 32 bytes (openssl rand -base64 32)',
      })
      .transform((text) => text.trim())
      .optional(),
    /**
     * Networks (CIDR, comma-separated) that notification deliveries may reach although they are
     * private, loopback, link-local…; none by default. Example: 10.20.0.0/16 for an internal relay.
     */
    notificationAllowedNetworks: z
      .string()
      .default('')
      .transform((text) =>
        text
          .split(',')
          .map((network) => network.trim())
          .filter((network) => network !== ''),
      )
      .pipe(
        z.array(
          z.string().refine((network) => isNetworkRange(network), {
            message: 'each entry must be a network such as 10.20.0.0/16 or fd00:1234::/48',
          }),
        ),
      ),
  })
  .transform((config) => ({ ...config, dataDir: path.resolve(config.dataDir) }));
export type BackendConfig = z.output<typeof BackendConfig>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Environment variable of each setting, for error messages and docs/operations.md. */
export const environmentVariables = {
  port: 'PORT',
  host: 'HOST',
  logLevel: 'LOG_LEVEL',
  databaseUrl: 'DATABASE_URL',
  dataDir: 'CRONFLEET_DATA_DIR',
  databasePoolSize: 'CRONFLEET_DATABASE_POOL_SIZE',
  frontendDir: 'CRONFLEET_FRONTEND_DIR',
  runRetentionDays: 'CRONFLEET_RUN_RETENTION_DAYS',
  runSearchTimeoutMs: 'CRONFLEET_RUN_SEARCH_TIMEOUT_MS',
  sessionTtlHours: 'CRONFLEET_SESSION_TTL_HOURS',
  cookieSecure: 'CRONFLEET_COOKIE_SECURE',
  trustProxy: 'CRONFLEET_TRUST_PROXY',
  corsOrigins: 'CRONFLEET_CORS_ORIGINS',
  lostRunAfterHours: 'CRONFLEET_LOST_RUN_AFTER_HOURS',
  commandTtlSeconds: 'CRONFLEET_COMMAND_TTL_SECONDS',
  maxCommandsPerHeartbeat: 'CRONFLEET_MAX_COMMANDS_PER_HEARTBEAT',
  workers: 'CRONFLEET_WORKERS',
  dashboardOrigin: 'CRONFLEET_DASHBOARD_ORIGIN',
  publicUrl: 'CRONFLEET_PUBLIC_URL',
  metricsToken: 'CRONFLEET_METRICS_TOKEN',
  organizationCreators: 'CRONFLEET_ORGANIZATION_CREATORS',
  secretsKey: 'CRONFLEET_SECRETS_KEY',
  notificationAllowedNetworks: 'CRONFLEET_NOTIFICATION_ALLOWED_NETWORKS',
} as const satisfies Record<keyof z.input<typeof BackendConfig>, string>;

export function loadBackendConfig(environment: NodeJS.ProcessEnv = process.env): BackendConfig {
  const input = Object.fromEntries(
    Object.entries(environmentVariables).map(([key, variable]) => [
      key,
      environment[variable] === '' ? undefined : environment[variable],
    ]),
  );
  const result = BackendConfig.safeParse(input);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const key = String(issue.path[0] ?? '') as keyof typeof environmentVariables;
      return `  ${environmentVariables[key] ?? key}: ${issue.message}`;
    });
    throw new ConfigError(`Invalid backend configuration:\n${lines.join('\n')}`);
  }
  return result.data;
}

/** Where notifications link to: CRONFLEET_PUBLIC_URL, else the dashboard origin, else this server. */
export function dashboardUrlOf(config: BackendConfig): string {
  if (config.publicUrl !== undefined) return config.publicUrl;
  if (config.dashboardOrigin !== undefined) return config.dashboardOrigin;
  const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${config.port}`;
}
