import type { PoolClient } from '@pipeline/db';
import { type Change, isSnapshotEnd, type OpportunitiesRow, type SnapshotEnd } from '@pipeline/schemas';
import { type Applied, applyChange, applySnapshotEnd, isOlder, positionOf, transitionOf } from './apply';
import { withCountedColumns } from './counted-columns';
import { BucketTotals, difference, nextState } from './state';
import {
  applyBuckets,
  insertTransitions,
  readFloor,
  readStoredMany,
  type Stored,
  type StoredEntry,
  type Transition,
  writeStoredMany,
} from './store';

/**
 * Where a batch finds the opportunities as last applied: the database (locked for the
 * transaction), or a rebuild's memory of what it wrote itself. Told what the batch writes.
 */
export interface StoredSource {
  read(client: PoolClient, ids: readonly string[]): Promise<Map<string, Stored>>;
  wrote(entries: readonly StoredEntry[]): void;
  /** Rows changed behind its back (a truncate applied change by change): forget what it knew. */
  forget(): void;
}

/** The live projector's source: every batch reads (and locks) its opportunities. */
export const FROM_DATABASE: StoredSource = { read: readStoredMany, wrote: () => undefined, forget: () => undefined };

/**
 * A batch of opportunity changes (one source partition, in order) into the read model with the
 * same rules as `applyChange`, folded in memory: the stored rows read and locked at once, each
 * change judged against the state the changes before it left, then one write per table. A batch
 * with a truncate goes change by change (a truncate reaches rows the batch never read).
 */
export async function applyChanges(
  client: PoolClient,
  changes: readonly Change<OpportunitiesRow>[],
  partition: number,
  source: StoredSource = FROM_DATABASE,
): Promise<Applied[]> {
  if (changes.some((change) => change.op === 't')) {
    source.forget();
    const results: Applied[] = [];
    for (const change of changes) results.push(await applyChange(client, change, partition));
    return results;
  }
  const rowOf = (change: Change<OpportunitiesRow>) => (change.op === 'd' ? change.before : change.after) as OpportunitiesRow;
  const stored: Map<string, Stored> = await source.read(client, [...new Set(changes.map((change) => rowOf(change).id))]);
  const floor = await readFloor(client, partition);
  const transitions: Transition[] = [];
  const buckets = new BucketTotals();
  const written = new Map<string, StoredEntry>();
  const results: Applied[] = [];
  for (const change of changes) {
    if (change.op === 't') continue; // not in a batch folded here (see above)
    const row = rowOf(change);
    const position = positionOf(change.eventId);
    const current = stored.get(row.id);
    const counted = withCountedColumns(change, current?.state);
    const transition = transitionOf(counted);
    if (transition) transitions.push(transition);
    if (isOlder(position, current?.position ?? floor)) {
      results.push('older');
      continue;
    }
    const at = counted.op === 'r' ? counted.after.updated_at : counted.source.commitTs;
    const after = counted.op === 'd' ? undefined : nextState(current?.state, counted.after, at);
    const moved = difference(current?.state, after);
    buckets.add(moved);
    stored.set(row.id, { state: after, deleted: after === undefined, position, partition });
    written.set(row.id, { id: row.id, state: after, position, partition });
    results.push(moved.length > 0 ? 'moved' : 'unchanged');
  }
  await insertTransitions(client, transitions);
  const entries = [...written.values()];
  await writeStoredMany(client, entries);
  source.wrote(entries);
  // Last: the buckets are shared by every partition, so their row locks are held for the shortest time.
  await applyBuckets(client, buckets.nonZero());
  return results;
}

/** What a cdc topic's partition carries, in order (the rebuild reads it raw): changes, and ends of snapshots among them. */
export async function applyEvents(
  client: PoolClient,
  events: readonly (Change<OpportunitiesRow> | SnapshotEnd)[],
  partition: number,
  source: StoredSource = FROM_DATABASE,
): Promise<Applied[]> {
  const results: Applied[] = [];
  let changes: Change<OpportunitiesRow>[] = [];
  for (const event of [...events, undefined]) {
    if (event !== undefined && !isSnapshotEnd(event)) {
      changes.push(event);
      continue;
    }
    if (changes.length > 0) results.push(...(await applyChanges(client, changes, partition, source)));
    changes = [];
    if (event !== undefined) {
      source.wrote(await applySnapshotEnd(client, event, partition));
      results.push('snapshot_ended');
    }
  }
  return results;
}
