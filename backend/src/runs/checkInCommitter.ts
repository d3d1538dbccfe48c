import type { CheckIn, CheckInBatchResponse } from '@cronfleet/core/api';
import type { DatabaseHandle } from '../db/database.js';
import type { AgentPrincipal } from '../http/authenticate.js';
import { ingestCheckInSubmissions, type CheckInSubmission } from './ingestCheckIns.js';

interface Pending extends CheckInSubmission {
  resolve: (result: CheckInBatchResponse) => void;
  reject: (error: unknown) => void;
}

export interface CheckInCommitterOptions {
  /** Statements in flight at once (each one commit). */
  maxConcurrentWrites?: number;
  /** Check-ins written by one statement at most. */
  maxCheckInsPerWrite?: number;
}

/**
 * Group commit for check-ins. A commit waits for the disk; one commit per request would cap a
 * replica at a few hundred single check-ins a second. Requests that arrive while a write is in
 * flight queue up, and the next write records all of them with one statement per kind and one
 * commit; each request is answered with its own counts once that commit is durable. Under light
 * load a request is written at once, alone, so nothing waits for a timer.
 *
 * A failed group is retried one submission at a time, so a batch the database refuses fails only
 * its own request.
 */
export class CheckInCommitter {
  private readonly queue: Pending[] = [];
  private writing = 0;
  private readonly maxConcurrentWrites: number;
  private readonly maxCheckInsPerWrite: number;

  constructor(
    private readonly database: DatabaseHandle,
    private readonly now: () => Date,
    options: CheckInCommitterOptions = {},
  ) {
    this.maxConcurrentWrites = options.maxConcurrentWrites ?? 2;
    this.maxCheckInsPerWrite = options.maxCheckInsPerWrite ?? 5_000;
  }

  submit(
    agent: Pick<AgentPrincipal, 'organizationId' | 'agentId'>,
    checkIns: readonly CheckIn[],
  ): Promise<CheckInBatchResponse> {
    return new Promise((resolve, reject) => {
      this.queue.push({ agent, checkIns, resolve, reject });
      this.startWrites();
    });
  }

  private startWrites(): void {
    while (this.writing < this.maxConcurrentWrites && this.queue.length > 0) {
      const group = this.takeGroup();
      this.writing += 1;
      void this.write(group).finally(() => {
        this.writing -= 1;
        this.startWrites();
      });
    }
  }

  /** The oldest submissions, up to maxCheckInsPerWrite check-ins (at least one submission). */
  private takeGroup(): Pending[] {
    let size = 0;
    let count = 0;
    for (const pending of this.queue) {
      if (count > 0 && size + pending.checkIns.length > this.maxCheckInsPerWrite) break;
      size += pending.checkIns.length;
      count += 1;
    }
    return this.queue.splice(0, count);
  }

  private async write(group: Pending[]): Promise<void> {
    try {
      const results = await ingestCheckInSubmissions(this.database, group, this.now());
      group.forEach((pending, index) => {
        const result = results[index];
        if (result === undefined) pending.reject(new Error('no result for a check-in batch'));
        else pending.resolve(result);
      });
    } catch (error) {
      if (group.length === 1) {
        group[0]?.reject(error);
        return;
      }
      // Find the culprit: each submission alone, so the others still succeed.
      for (const pending of group) {
        try {
          const [result] = await ingestCheckInSubmissions(this.database, [pending], this.now());
          pending.resolve(result ?? { accepted: 0, duplicates: pending.checkIns.length });
        } catch (alone) {
          pending.reject(alone);
        }
      }
    }
  }
}
