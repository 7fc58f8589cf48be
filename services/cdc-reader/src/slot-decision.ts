import type { SlotRow, UsedSlot } from '@pipeline/db';
import { type PipelineError, UnrecoverableError } from '@pipeline/runtime';

/** What is known about a slot before streaming: the server's view and the reader's memory of it. */
export interface SlotFacts {
  slot: string;
  /** The database the reader streams from. */
  database: string;
  /** The slot as the server has it; undefined when it does not exist. */
  state: SlotRow | undefined;
  /** The slot as the reader remembers using it (`cdc_reader.slots`); undefined when it never did. */
  used: UsedSlot | undefined;
  /** Tables whose initial snapshot has not finished. */
  unfinishedTables: readonly string[];
  /** The operator allows a new slot and snapshot in place of one that missed changes (CDC_ALLOW_NEW_SNAPSHOT). */
  allowNewSnapshot: boolean;
}

export type SlotDecision =
  /** A usable slot (made by this reader or elsewhere): stream from its confirmed position. */
  | { kind: 'adopt'; position: string }
  /** No slot: create one; first drop what is left of one whose creation or snapshot did not finish. */
  | { kind: 'create'; discard?: { why: string; slotExists: boolean } }
  /** Changes were missed and the operator allows it: forget the slot, create a new one with a snapshot. */
  | { kind: 'replace'; why: string; slotExists: boolean }
  /** A condition the reader must not work around: it stops and says what happened and what to do. */
  | { kind: 'stop'; error: PipelineError };

/** A slot the reader must not stream from: the process stops with exit code 78 (cdc-reader's onFatal). */
function stop(code: string, message: string): SlotDecision {
  return { kind: 'stop', error: new UnrecoverableError(message, { code }) };
}

/**
 * What to do with the slot before streaming. A missing slot is created only when this reader never
 * used one of that name; one it used that is gone, or whose WAL was removed, means changes were
 * missed, so the reader stops rather than silently start after the gap, unless the operator allows
 * a new snapshot. A slot whose creation or initial snapshot did not finish is made again (the
 * exported snapshot died with its connection).
 */
export function decideSlot(facts: SlotFacts): SlotDecision {
  const { slot } = facts;
  let { state, used } = facts;
  let discard: { why: string; slotExists: boolean } | undefined;
  if (used && used.consistentPoint === null) {
    discard = { why: `creating slot ${slot} did not finish`, slotExists: state !== undefined };
    state = undefined;
    used = undefined;
  } else if (state && facts.unfinishedTables.length > 0) {
    discard = {
      why: `the initial snapshot of slot ${slot} was interrupted (${facts.unfinishedTables.join(', ')} not done)`,
      slotExists: true,
    };
    state = undefined;
    used = undefined;
  }
  if (state) {
    if (state.slotType !== 'logical' || state.plugin !== 'pgoutput') {
      return stop(
        'SLOT_WRONG_KIND',
        `replication slot ${slot} exists but is ${state.slotType}/${state.plugin}, not logical/pgoutput: choose another CDC_SLOT_NAME`,
      );
    }
    if (state.database !== facts.database) {
      return stop(
        'SLOT_OTHER_DATABASE',
        `replication slot ${slot} belongs to database ${state.database}, not ${facts.database}: choose another CDC_SLOT_NAME`,
      );
    }
    if (state.walStatus === 'lost') {
      if (facts.allowNewSnapshot) return { kind: 'replace', why: 'its WAL was removed (wal_status lost)', slotExists: true };
      return stop(
        'SLOT_LOST',
        `replication slot ${slot} is lost: PostgreSQL removed WAL it still needed (max_slot_wal_keep_size), so changes were missed. ` +
          'To take a new snapshot in its place, restart the reader with CDC_ALLOW_NEW_SNAPSHOT=true; nothing is streamed until then',
      );
    }
    return { kind: 'adopt', position: state.confirmedFlushLsn ?? '0/0' };
  }
  if (used) {
    if (facts.allowNewSnapshot) {
      return { kind: 'replace', why: `it vanished (last confirmed ${used.lastConfirmedLsn ?? 'unknown'})`, slotExists: false };
    }
    return stop(
      'SLOT_VANISHED',
      `replication slot ${slot}, used by this reader since ${used.createdAt.toISOString()}, no longer exists: changes committed after ` +
        `${used.lastConfirmedLsn ?? 'its last confirmed position'} may have been missed. To take a new snapshot in its place ` +
        '(every row again as op r), restart the reader with CDC_ALLOW_NEW_SNAPSHOT=true; nothing is streamed until then',
    );
  }
  return { kind: 'create', ...(discard ? { discard } : {}) };
}
