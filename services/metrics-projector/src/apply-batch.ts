import type { PoolClient } from '@pipeline/db';
import {
  type Change,
  comparePositions,
  type EventPosition,
  isSnapshotEnd,
  type OpportunitiesRow,
  type SnapshotEnd,
} from '@pipeline/schemas';
import { type Applied, applyChange, applySnapshotEnd, positionOf, transitionOf } from './apply';
import { type Bucket, difference, nextState, type ProjectedState } from './state';
import { applyBuckets, insertTransitions, readStoredMany, type Stored, type Transition, writeStoredMany } from './store';

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
): Promise<Applied[]> {
  if (changes.some((change) => change.op === 't')) {
    const results: Applied[] = [];
    for (const change of changes) results.push(await applyChange(client, change, partition));
    return results;
  }
  const rowOf = (change: Change<OpportunitiesRow>) => (change.op === 'd' ? change.before : change.after) as OpportunitiesRow;
  const stored: Map<string, Stored> = await readStoredMany(client, [...new Set(changes.map((change) => rowOf(change).id))]);
  const transitions: Transition[] = [];
  const buckets: Bucket[] = [];
  const written = new Map<string, { id: string; state: ProjectedState | undefined; position: EventPosition; partition: number }>();
  const results: Applied[] = [];
  for (const change of changes) {
    if (change.op === 't') continue; // not in a batch folded here (see above)
    const row = rowOf(change);
    const position = positionOf(change.eventId);
    const transition = transitionOf(change);
    if (transition) transitions.push(transition);
    const current = stored.get(row.id);
    if (current && comparePositions(position, current.position) <= 0) {
      results.push('older');
      continue;
    }
    const at = change.op === 'r' ? change.after.updated_at : change.source.commitTs;
    const after = change.op === 'd' ? undefined : nextState(current?.state, change.after, at);
    const moved = difference(current?.state, after);
    buckets.push(...moved);
    stored.set(row.id, { state: after, deleted: after === undefined, position, partition });
    written.set(row.id, { id: row.id, state: after, position, partition });
    results.push(moved.length > 0 ? 'moved' : 'unchanged');
  }
  await insertTransitions(client, transitions);
  await applyBuckets(client, mergeBuckets(buckets));
  await writeStoredMany(
    client,
    [...written.values()].sort((a, b) => a.id.localeCompare(b.id)),
  );
  return results;
}

/** What a cdc topic's partition carries, in order (the rebuild reads it raw): changes, and ends of snapshots among them. */
export async function applyEvents(
  client: PoolClient,
  events: readonly (Change<OpportunitiesRow> | SnapshotEnd)[],
  partition: number,
): Promise<Applied[]> {
  const results: Applied[] = [];
  let changes: Change<OpportunitiesRow>[] = [];
  for (const event of [...events, undefined]) {
    if (event !== undefined && !isSnapshotEnd(event)) {
      changes.push(event);
      continue;
    }
    if (changes.length > 0) results.push(...(await applyChanges(client, changes, partition)));
    changes = [];
    if (event !== undefined) {
      await applySnapshotEnd(client, event, partition);
      results.push('snapshot_ended');
    }
  }
  return results;
}

/** Bucket moves of a whole batch added up, per bucket; those that add up to nothing dropped. */
export function mergeBuckets(buckets: readonly Bucket[]): Bucket[] {
  // The difference of "nothing" to "all of these" is the sum: reuse it by folding pairwise.
  const merged = new Map<string, Bucket>();
  for (const bucket of buckets) {
    const key =
      bucket.table === 'stage'
        ? `s|${bucket.stage}`
        : bucket.table === 'owner'
          ? `o|${bucket.owner === null ? '-' : `+${bucket.owner}`}`
          : `m|${bucket.owner === null ? '-' : `+${bucket.owner}`}|${bucket.month}`;
    const current = merged.get(key);
    if (!current) {
      merged.set(key, { ...bucket });
    } else if (current.table === 'stage' && bucket.table === 'stage') {
      merged.set(key, { ...current, count: current.count + bucket.count, value: current.value + bucket.value });
    } else if (current.table !== 'stage' && bucket.table !== 'stage') {
      merged.set(key, {
        ...current,
        won: current.won + bucket.won,
        lost: current.lost + bucket.lost,
        revenue: current.revenue + bucket.revenue,
      });
    }
  }
  return [...merged.values()].filter((bucket) =>
    bucket.table === 'stage' ? bucket.count !== 0 || bucket.value !== 0n : bucket.won !== 0 || bucket.lost !== 0 || bucket.revenue !== 0n,
  );
}
