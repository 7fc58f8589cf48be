import type { PoolClient } from '@pipeline/db';
import type { StoredSource } from '../apply-batch';
import { readStoredMany, type Stored, type StoredEntry } from '../store';

/** Opportunities kept in memory by a rebuild before it reads its shadow table instead. */
const DEFAULT_LIMIT = 2_000_000;

/**
 * A rebuild's memory of the opportunities it stored. Its shadow tables start empty and only the
 * rebuild writes them, so while this remembers everything it wrote, an opportunity it does not
 * know was never stored: batches need not read the table. Each batch gets a source of its own
 * whose writes count only once its transaction committed (`committed`); after a failed batch, a
 * truncate, or too many opportunities to keep, it forgets everything and reads from the table.
 */
export class StoredCache {
  private readonly known = new Map<string, Stored>();
  private complete = true;

  constructor(private readonly limit = DEFAULT_LIMIT) {}

  /** A source for one batch's transaction; `committed()` once it committed, `failed()` otherwise. */
  forBatch(): StoredSource & { committed(): void; failed(): void } {
    const pending = new Map<string, Stored>();
    return {
      read: async (client: PoolClient, ids: readonly string[]) => {
        const found = new Map<string, Stored>();
        const missing: string[] = [];
        for (const id of ids) {
          // This batch's own writes first: a batch split around the end of a snapshot reads twice.
          const stored = pending.get(id) ?? this.known.get(id);
          if (stored) found.set(id, stored);
          else if (!this.complete) missing.push(id);
        }
        if (missing.length > 0) for (const [id, stored] of await readStoredMany(client, missing)) found.set(id, stored);
        return found;
      },
      wrote: (entries: readonly StoredEntry[]) => {
        for (const { id, state, position, partition } of entries)
          pending.set(id, { state, deleted: state === undefined, position, partition });
      },
      forget: () => this.forget(),
      committed: () => {
        if (!this.complete) return;
        for (const [id, stored] of pending) this.known.set(id, stored);
        if (this.known.size > this.limit) this.forget();
      },
      failed: () => this.forget(),
    };
  }

  private forget(): void {
    this.complete = false;
    this.known.clear();
  }
}
