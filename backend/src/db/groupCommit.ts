export interface GroupCommitOptions {
  /** Statements in flight at once (each one commit). */
  maxConcurrentWrites?: number;
  /** Weight (see `weightOf`) written by one statement at most; a heavier item goes alone. */
  maxWeightPerWrite?: number;
}

interface Pending<Item, Result> {
  item: Item;
  resolve: (result: Result) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit: items submitted while a write is in flight queue up, and the next write records
 * all of them with one statement and one commit; each submitter is answered with its own result
 * once that commit is done. Under light load an item is written at once, alone, so nothing waits
 * for a timer. Agent calls (check-ins, heartbeats) are the backend's hot path: one statement per
 * request would spend most of the database's time on per-statement and per-commit work.
 *
 * A failed group is written again one item at a time, so an item the database refuses fails only
 * its own request.
 */
export class GroupCommit<Item, Result> {
  private readonly queue: Pending<Item, Result>[] = [];
  private writing = 0;
  private readonly maxConcurrentWrites: number;
  private readonly maxWeightPerWrite: number;
  private readonly weightOf: (item: Item) => number;

  /**
   * @param writeGroup writes the items with one statement and answers one result per item, in
   *   their order
   * @param weightOf an item's share of `maxWeightPerWrite` (default 1 each)
   */
  constructor(
    private readonly writeGroup: (items: readonly Item[]) => Promise<readonly Result[]>,
    options: GroupCommitOptions & { weightOf?: (item: Item) => number } = {},
  ) {
    this.maxConcurrentWrites = options.maxConcurrentWrites ?? 2;
    this.maxWeightPerWrite = options.maxWeightPerWrite ?? 1_000;
    this.weightOf = options.weightOf ?? (() => 1);
  }

  submit(item: Item): Promise<Result> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
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

  /** The oldest items, up to maxWeightPerWrite (at least one item). */
  private takeGroup(): Pending<Item, Result>[] {
    let weight = 0;
    let count = 0;
    for (const pending of this.queue) {
      const next = this.weightOf(pending.item);
      if (count > 0 && weight + next > this.maxWeightPerWrite) break;
      weight += next;
      count += 1;
    }
    return this.queue.splice(0, count);
  }

  private async write(group: Pending<Item, Result>[]): Promise<void> {
    try {
      const results = await this.writeGroup(group.map((pending) => pending.item));
      group.forEach((pending, index) => {
        if (index < results.length) pending.resolve(results[index] as Result);
        else pending.reject(new Error('the group write answered fewer results than items'));
      });
    } catch (error) {
      if (group.length === 1) {
        group[0]?.reject(error);
        return;
      }
      // Find the culprit: each item alone, so the others still succeed.
      for (const pending of group) {
        let results: readonly Result[];
        try {
          results = await this.writeGroup([pending.item]);
        } catch (alone) {
          pending.reject(alone);
          continue;
        }
        if (results.length > 0) pending.resolve(results[0] as Result);
        else pending.reject(new Error('the write answered no result'));
      }
    }
  }
}
