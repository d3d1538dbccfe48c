import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/** The dashboard build in this checkout (frontend/dist), used when CRONFLEET_FRONTEND_DIR is unset. */
const bundledFrontendDir = fileURLToPath(new URL('../../frontend/dist', import.meta.url));

/**
 * The backend's one configuration module: the environment is parsed once, at start, by
 * `loadBackendConfig()`; nothing else in the backend reads `process.env`.
 */
export const BackendConfig = z.object({
  port: z.coerce
    .number({ message: 'PORT must be a number' })
    .int()
    .min(0)
    .max(65535, 'PORT must be between 0 and 65535')
    .default(8080),
  host: z.string().min(1).default('127.0.0.1'),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Served at / when it exists (the React dashboard build). */
  frontendDir: z.string().min(1).default(bundledFrontendDir),
});
export type BackendConfig = z.infer<typeof BackendConfig>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export function loadBackendConfig(environment: NodeJS.ProcessEnv = process.env): BackendConfig {
  const result = BackendConfig.safeParse({
    port: environment.PORT,
    host: environment.HOST,
    logLevel: environment.LOG_LEVEL,
    frontendDir: environment.CRONFLEET_FRONTEND_DIR,
  });
  if (!result.success) {
    const variableOf: Record<string, string> = {
      port: 'PORT',
      host: 'HOST',
      logLevel: 'LOG_LEVEL',
      frontendDir: 'CRONFLEET_FRONTEND_DIR',
    };
    const lines = result.error.issues.map((issue) => {
      const key = String(issue.path[0] ?? '');
      return `  ${variableOf[key] ?? key}: ${issue.message}`;
    });
    throw new ConfigError(`Invalid backend configuration:\n${lines.join('\n')}`);
  }
  return result.data;
}
