import type { Logger } from 'pino';
import type { DatabaseHandle } from '../db/database.js';
import type { BackendConfig } from '../env.js';

/** What every route handler and worker gets: the database, the configuration, a logger, a clock. */
export interface AppContext {
  readonly database: DatabaseHandle;
  readonly config: BackendConfig;
  readonly logger: Logger;
  /** The current time; tests may move it. */
  readonly now: () => Date;
  /** Validate every response body against its route's schema (on in tests). */
  readonly validateResponses: boolean;
}
