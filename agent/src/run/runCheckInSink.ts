import { CheckInSpool, spoolDirectoryOf } from '../spool/checkInSpool.js';
import type { CheckInSink } from '../spool/checkInSink.js';

/**
 * Opens the sink the run wrapper records its check-ins into: the durable spool in the state
 * directory (`<stateDir>/spool`), which the daemon's sender drains to the backend. The one place
 * both entries of `cronfleet-agent run` (runFastPath.ts and commands/runCommand.ts) get it from.
 * It stays cheap to import: the wrapper loads it on every cron fire, and the spool's writer pulls
 * in neither the sender nor the HTTP client.
 */
export type OpenCheckInSink = (stateDir: string) => CheckInSink | Promise<CheckInSink>;

export const openRunCheckInSink: OpenCheckInSink = (stateDir) =>
  new CheckInSpool({ directory: spoolDirectoryOf(stateDir) });
