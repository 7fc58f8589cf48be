import type { PoolClient } from '@pipeline/db';
import { PipelineError } from '@pipeline/runtime';
import {
  type Change,
  comparePositions,
  type EventPosition,
  eventPosition,
  type OpportunitiesRow,
  type SnapshotEnd,
} from '@pipeline/schemas';
import { withCountedColumns } from './counted-columns';
import { BucketTotals, difference, nextState, type ProjectedState } from './state';
import {
  applyBuckets,
  insertTransition,
  raiseFloor,
  readFloor,
  readStored,
  readStoredMany,
  type StoredEntry,
  storedBefore,
  type Transition,
  writeStored,
  writeStoredMany,
} from './store';

/** What applying one change did, for metrics and logs. */
export type Applied = 'moved' | 'older' | 'unchanged' | 'truncated' | 'snapshot_ended';

/**
 * One opportunity change into the read model, inside applyWithCheckpoint's transaction:
 * - a stage change (or an insert) always leaves its transition row, even when it comes late;
 * - a change newer than the stored one moves the aggregates by the difference from the stored
 *   row, and becomes the stored row (a snapshot row too: it replaces, it does not add);
 * - an older one (a retry copy arriving after a newer change) moves nothing;
 * - a delete leaves a tombstone, so a late copy cannot bring the opportunity back;
 * - a truncate (one record per partition) removes the opportunities stored from that partition
 *   before it, and raises the partition's floor (see removeStoredBefore).
 */
export async function applyChange(client: PoolClient, change: Change<OpportunitiesRow>, partition: number): Promise<Applied> {
  const position = positionOf(change.eventId);
  if (change.op === 't') {
    await removeStoredBefore(client, partition, position);
    return 'truncated';
  }
  const row = change.op === 'd' ? change.before : change.after;
  const stored = await readStored(client, row.id);
  const counted = withCountedColumns(change, stored?.state);
  const transition = transitionOf(counted);
  if (transition) await insertTransition(client, transition);
  if (isOlder(position, stored?.position ?? (await readFloor(client, partition)))) return 'older';
  const at = counted.op === 'r' ? counted.after.updated_at : counted.source.commitTs;
  const after = counted.op === 'd' ? undefined : nextState(stored?.state, counted.after, at);
  return (await moveTo(client, row.id, stored?.state, after, position, partition)) ? 'moved' : 'unchanged';
}

/**
 * The end of a snapshot on a partition: the opportunities stored from that partition that the
 * snapshot did not re-read (their position is below its rows') were deleted while no slot captured
 * changes; they are removed and leave a tombstone at the marker's position, just below the
 * snapshot's rows, so a late copy of an older change cannot bring one back while a snapshot row
 * arriving late (a retry copy) still applies. Returns the tombstones it left.
 */
export async function applySnapshotEnd(client: PoolClient, end: SnapshotEnd, partition: number): Promise<StoredEntry[]> {
  return removeStoredBefore(client, partition, positionOf(end.eventId));
}

/**
 * Whether a change at `position` comes at or before what is known of its opportunity: its stored
 * position, or (not stored) the partition's floor, below which everything was removed.
 */
export function isOlder(position: EventPosition, known: EventPosition | undefined): boolean {
  return known !== undefined && comparePositions(position, known) <= 0;
}

/**
 * Removes the live opportunities stored from `partition` before `position`, leaving tombstones there
 * (returned), and raises the partition's floor to it: a late copy of an older change for an
 * opportunity not stored then cannot bring it back either.
 */
async function removeStoredBefore(client: PoolClient, partition: number, position: EventPosition): Promise<StoredEntry[]> {
  await raiseFloor(client, partition, position);
  const stored = await readStoredMany(client, await storedBefore(client, partition, position));
  const removed = new BucketTotals();
  for (const { state } of stored.values()) removed.add(difference(state, undefined));
  const tombstones = [...stored.keys()].map((id) => ({ id, state: undefined, position, partition }));
  await writeStoredMany(client, tombstones);
  await applyBuckets(client, removed.nonZero());
  return tombstones;
}

async function moveTo(
  client: PoolClient,
  id: string,
  before: ProjectedState | undefined,
  after: ProjectedState | undefined,
  position: EventPosition,
  partition: number,
): Promise<boolean> {
  const buckets = difference(before, after);
  await applyBuckets(client, buckets);
  await writeStored(client, id, after, position, partition);
  return buckets.length > 0;
}

/** Where a change stands; an event id that does not say it (not written by the cdc-reader) is a dead letter at once. */
export function positionOf(eventId: string): EventPosition {
  try {
    return eventPosition(eventId);
  } catch (error) {
    throw new PipelineError(
      `${(error as Error).message}: the projection orders changes by it, so it cannot apply this one. Find what wrote it to the topic, then resolve the dead letter`,
      { code: 'INVALID_EVENT_ID', retriable: false },
    );
  }
}

/** The transition row a change leaves: an insert (from NULL) or a stage change; nothing otherwise. */
export function transitionOf(change: Change<OpportunitiesRow>): Transition | undefined {
  if (!(change.op === 'c' || (change.op === 'u' && change.before?.stage !== change.after.stage))) return undefined;
  return {
    opportunityId: change.after.id,
    from: change.op === 'c' ? null : (change.before?.stage ?? null),
    to: change.after.stage,
    value: change.after.value,
    owner: change.after.owner,
    at: change.source.commitTs,
    eventId: change.eventId,
  };
}
