import { controlKey, type Envelope, type Op } from '@pipeline/schemas';
import type { Pgoutput } from 'pg-logical-replication';
import { convertText, placeholder } from './columns';
import type { RelationInfo } from './relation';

/** A tuple as pgoutput sends it, in text: null is SQL NULL, undefined an unchanged TOAST value not sent. */
export type Tuple = Readonly<Record<string, string | null | undefined>>;

/** The transaction a change belongs to. */
export interface TxContext {
  db: string;
  /** The database's system identifier: part of every event id. */
  systemId: string;
  /** Commit LSN, PostgreSQL's spelling. */
  commitLsn: string;
  xid: number;
  commitTs: string;
  /** When the event is produced, ms since the epoch (the clock is passed in). */
  nowMs: number;
  /** Next ordinal of an event in this transaction (0, 1, …): deterministic on redelivery. */
  nextOrdinal(): number;
}

export interface OutEvent {
  topic: string;
  /**
   * The message key: the primary key (or replica identity key) as text, a JSON array for a
   * composite key; a truncate's control key; the event id for a row of a table without any key.
   */
  key: string;
  /** Set for truncates, which go to every partition. */
  partition?: number;
  envelope: Envelope<Record<string, unknown>>;
  /** For a primary-key change: the other key of the pair (`d` on the old key, `c` on the new). */
  movedKey?: string;
}

/** `<system id>:<commit LSN>:<ordinal>`: the same change delivered twice carries the same id. */
export function eventId(tx: TxContext, ordinal: number, suffix = ''): string {
  return `${tx.systemId}:${tx.commitLsn}:${ordinal}${suffix}`;
}

function buildRow(rel: RelationInfo, tuple: Tuple, side: 'before' | 'after', unavailable: string[]): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  for (const field of rel.fields) {
    const text = tuple[field.name];
    if (text === undefined) {
      // Not sent: an unchanged TOAST value without an old tuple, or a non-key column of a key-only tuple.
      row[field.name] = placeholder(field);
      unavailable.push(`${side}.${field.name}`);
      continue;
    }
    row[field.name] = convertText(field, text, rel.columnTypes.get(field.name) ?? 0);
  }
  return row;
}

/** The row's key: its primary key (or replica identity key) values as text; null for a table without any key. */
export function keyOf(rel: RelationInfo, tuple: Tuple): string | null {
  const columns = rel.primaryKey.length > 0 ? rel.primaryKey : rel.identityKey;
  if (columns.length === 0) return null;
  const values = columns.map((column) => tuple[column] ?? null);
  return values.length === 1 ? (values[0] ?? null) : JSON.stringify(values);
}

/**
 * The message key of a row's change: its key, or for a table without any key its event id (every
 * record has a key; such a table's changes have no order to keep and cannot be compacted, which
 * the reader refuses at start on a compacted topic).
 */
function messageKey(rowKey: string | null, id: string): string {
  return rowKey ?? id;
}

function envelope(
  rel: RelationInfo,
  tx: TxContext,
  op: Op,
  before: Record<string, unknown> | null,
  after: Record<string, unknown> | null,
  unavailable: string[],
  id: string,
): Envelope<Record<string, unknown>> {
  return {
    op,
    before,
    after,
    source: { db: tx.db, schema: rel.schema, table: rel.table, lsn: tx.commitLsn, txId: tx.xid, commitTs: tx.commitTs, snapshot: false },
    eventId: id,
    unavailable,
    tsMs: tx.nowMs,
  };
}

export function mapInsert(rel: RelationInfo, tx: TxContext, tuple: Tuple): OutEvent[] {
  const unavailable: string[] = [];
  const after = buildRow(rel, tuple, 'after', unavailable);
  const id = eventId(tx, tx.nextOrdinal());
  return [{ topic: rel.topic, key: messageKey(keyOf(rel, tuple), id), envelope: envelope(rel, tx, 'c', null, after, unavailable, id) }];
}

/**
 * An update. `old` is the full old row (REPLICA IDENTITY FULL), `key` the old key columns (sent
 * without FULL only when the key changed), both absent otherwise. A change of primary key becomes
 * a delete on the old key and an insert on the new one, as Debezium does: every key's partition
 * sees its own history, and projections that apply before/after deltas stay right.
 */
export function mapUpdate(rel: RelationInfo, tx: TxContext, change: { key: Tuple | null; old: Tuple | null; new: Tuple }): OutEvent[] {
  const previous = change.old ?? change.key;
  const newKey = keyOf(rel, change.new);
  const oldKey = previous ? keyOf(rel, previous) : newKey;
  if (previous && oldKey !== newKey) {
    const deleted = mapDelete(rel, tx, { key: change.key, old: change.old })[0] as OutEvent;
    const inserted = mapInsert(rel, tx, change.new)[0] as OutEvent;
    return [
      { ...deleted, ...(newKey === null ? {} : { movedKey: newKey }) },
      { ...inserted, ...(oldKey === null ? {} : { movedKey: oldKey }) },
    ];
  }
  const unavailable: string[] = [];
  const before = change.old ? buildRow(rel, change.old, 'before', unavailable) : null;
  const after = buildRow(rel, change.new, 'after', unavailable);
  const id = eventId(tx, tx.nextOrdinal());
  return [{ topic: rel.topic, key: messageKey(newKey, id), envelope: envelope(rel, tx, 'u', before, after, unavailable, id) }];
}

export function mapDelete(rel: RelationInfo, tx: TxContext, change: { key: Tuple | null; old: Tuple | null }): OutEvent[] {
  const tuple = change.old ?? change.key;
  if (!tuple) throw new Error(`delete on ${rel.subject} carries no old row or key (REPLICA IDENTITY NOTHING?): set a replica identity`);
  const unavailable: string[] = [];
  const before = buildRow(rel, tuple, 'before', unavailable);
  const id = eventId(tx, tx.nextOrdinal());
  return [{ topic: rel.topic, key: messageKey(keyOf(rel, tuple), id), envelope: envelope(rel, tx, 'd', before, null, unavailable, id) }];
}

/** A truncate: one control record on every partition (keyed by kind, table and partition), each with its own event id. */
export function mapTruncate(rel: RelationInfo, tx: TxContext, partitions: number): OutEvent[] {
  const ordinal = tx.nextOrdinal();
  return Array.from({ length: partitions }, (_, partition) => ({
    topic: rel.topic,
    key: controlKey('truncate', rel.subject, partition),
    partition,
    envelope: envelope(rel, tx, 't', null, null, [], eventId(tx, ordinal, `:p${partition}`)),
  }));
}

/** A change of rows as pgoutput reports it, in the reader's terms. */
export type RowChange =
  | { tag: 'insert'; new: Tuple }
  | { tag: 'update'; key: Tuple | null; old: Tuple | null; new: Tuple }
  | { tag: 'delete'; key: Tuple | null; old: Tuple | null }
  | { tag: 'truncate'; partitions: number };

/** An insert, update or delete message of pgoutput as a RowChange. */
export function rowChangeOf(message: Pgoutput.MessageInsert | Pgoutput.MessageUpdate | Pgoutput.MessageDelete): RowChange {
  switch (message.tag) {
    case 'insert':
      return { tag: 'insert', new: message.new as Tuple };
    case 'update':
      return { tag: 'update', key: message.key as Tuple | null, old: message.old as Tuple | null, new: message.new as Tuple };
    case 'delete':
      return { tag: 'delete', key: message.key as Tuple | null, old: message.old as Tuple | null };
    default: {
      const unknown: never = message;
      throw new Error(`not a row change: ${JSON.stringify(unknown)}`);
    }
  }
}

/** Every event a change of one table produces (a primary-key change two, a truncate one per partition). */
export function mapChange(rel: RelationInfo, tx: TxContext, change: RowChange): OutEvent[] {
  switch (change.tag) {
    case 'insert':
      return mapInsert(rel, tx, change.new);
    case 'update':
      return mapUpdate(rel, tx, change);
    case 'delete':
      return mapDelete(rel, tx, change);
    case 'truncate':
      return mapTruncate(rel, tx, change.partitions);
    default: {
      const unknown: never = change;
      throw new Error(`unknown change ${JSON.stringify(unknown)}`);
    }
  }
}

/** Where snapshot rows come from: the slot's consistent point, as of which the tables were read. */
export interface SnapshotContext {
  db: string;
  systemId: string;
  consistentPoint: string;
  /** When the snapshot was taken (RFC 3339, microseconds): the rows' commitTs. */
  snapshotTs: string;
  nowMs: number;
}

/**
 * A row read by the initial snapshot: `op=r`, a keyed upsert of the current row. Its id is the
 * consistent point, the table and the key (the contract), so a re-read of one snapshot repeats it.
 */
export function mapSnapshotRead(rel: RelationInfo, snapshot: SnapshotContext, tuple: Tuple): OutEvent {
  const unavailable: string[] = [];
  const after = buildRow(rel, tuple, 'after', unavailable);
  const key = keyOf(rel, tuple);
  const id = `${snapshot.systemId}:${snapshot.consistentPoint}:r:${rel.subject}:${key}`;
  return {
    topic: rel.topic,
    key: messageKey(key, id),
    envelope: {
      op: 'r',
      before: null,
      after,
      source: {
        db: snapshot.db,
        schema: rel.schema,
        table: rel.table,
        lsn: snapshot.consistentPoint,
        txId: 0,
        commitTs: snapshot.snapshotTs,
        snapshot: true,
      },
      eventId: id,
      unavailable,
      tsMs: snapshot.nowMs,
    },
  };
}
