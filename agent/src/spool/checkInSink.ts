import type { CheckIn } from '@cronfleet/core/api';

/**
 * Where the run wrapper records its check-ins: the durable spool, before anything is sent. The
 * wrapper depends on this interface only; the spool implements it, and tests may record in
 * memory.
 */
export interface CheckInSink {
  /**
   * Makes the check-ins durable (written and fsynced) and resolves; several wrapper processes may
   * record at once. Rejects only when the spool cannot be written at all (a full or read-only
   * disk): the wrapper then still runs the job and says so on stderr.
   */
  record(checkIns: readonly CheckIn[]): Promise<void>;
}
