import type { Queryable } from './pool';

/**
 * Every statement on the cdc-reader's own state, the `cdc_reader` schema (migration 0002): the
 * slots it used (so a vanished slot can be told from one never created) and the progress of its
 * initial snapshot. The reader's role may write nothing else.
 */

/** What the reader remembers of a slot it used. */
export interface UsedSlot {
  createdAt: Date;
  /** Null while the slot's creation has not finished. */
  consistentPoint: string | null;
  lastConfirmedLsn: string | null;
  lastSeenAt: Date | null;
}

/** The slot this reader used under that name and has not retired, if any. */
export async function usedSlot(db: Queryable, slot: string): Promise<UsedSlot | undefined> {
  const { rows } = await db.query<{
    created_at: Date;
    consistent_point: string | null;
    last_confirmed_lsn: string | null;
    last_seen_at: Date | null;
  }>(
    `SELECT created_at, consistent_point::text, last_confirmed_lsn::text, last_seen_at
       FROM cdc_reader.slots WHERE slot_name = $1 AND retired_at IS NULL`,
    [slot],
  );
  const row = rows[0];
  return row
    ? {
        createdAt: row.created_at,
        consistentPoint: row.consistent_point,
        lastConfirmedLsn: row.last_confirmed_lsn,
        lastSeenAt: row.last_seen_at,
      }
    : undefined;
}

/** Tables whose part of the initial snapshot has not finished. */
export async function unfinishedSnapshotTables(db: Queryable, slot: string): Promise<string[]> {
  const { rows } = await db.query<{ table_name: string }>(
    'SELECT table_name FROM cdc_reader.snapshot_progress WHERE slot_name = $1 AND NOT done ORDER BY table_name',
    [slot],
  );
  return rows.map((row) => row.table_name);
}

/** A slot made elsewhere, adopted as it stands: its position is its consistent point. */
export async function adoptSlot(
  db: Queryable,
  slot: { slot: string; systemId: string; publication: string; position: string },
): Promise<void> {
  await db.query(
    `INSERT INTO cdc_reader.slots (slot_name, database_system_id, publication, consistent_point, last_confirmed_lsn, last_seen_at)
     VALUES ($1, $2, $3, $4, $4, now())
     ON CONFLICT (slot_name) DO UPDATE SET last_seen_at = now()`,
    [slot.slot, slot.systemId, slot.publication, slot.position],
  );
}

/**
 * Records that a slot is being created (no consistent point yet) and, for a snapshot, every table
 * as not done, before the slot exists: a crash anywhere in between is recognised on restart as an
 * unfinished creation, never mistaken for a slot that streamed.
 */
export async function beginSlotCreation(
  db: Queryable,
  slot: { slot: string; systemId: string; publication: string; snapshotTables: readonly string[] },
): Promise<void> {
  await db.query(`INSERT INTO cdc_reader.slots (slot_name, database_system_id, publication, last_seen_at) VALUES ($1, $2, $3, now())`, [
    slot.slot,
    slot.systemId,
    slot.publication,
  ]);
  if (slot.snapshotTables.length > 0) {
    await db.query(`INSERT INTO cdc_reader.snapshot_progress (slot_name, table_name) SELECT $1, unnest($2::text[])`, [
      slot.slot,
      slot.snapshotTables,
    ]);
  }
}

/** The slot exists: its consistent point is where streaming starts. */
export async function finishSlotCreation(db: Queryable, slot: string, consistentPoint: string): Promise<void> {
  await db.query('UPDATE cdc_reader.slots SET consistent_point = $2, last_confirmed_lsn = $2 WHERE slot_name = $1', [
    slot,
    consistentPoint,
  ]);
}

/** Remembers the last confirmed position (for the vanished-slot message). */
export async function recordConfirmed(db: Queryable, slot: string, lsn: string): Promise<void> {
  await db.query('UPDATE cdc_reader.slots SET last_confirmed_lsn = $2, last_seen_at = now() WHERE slot_name = $1', [slot, lsn]);
}

/** A table the snapshot is about to read (a row exists already when creation recorded it). */
export async function startSnapshotTable(db: Queryable, slot: string, table: string): Promise<void> {
  await db.query(
    `INSERT INTO cdc_reader.snapshot_progress (slot_name, table_name) VALUES ($1, $2) ON CONFLICT (slot_name, table_name) DO NOTHING`,
    [slot, table],
  );
}

/** A page of the snapshot is acknowledged by Kafka: where it stands. */
export async function recordSnapshotPage(db: Queryable, slot: string, table: string, lastKey: unknown, rowsEmitted: number): Promise<void> {
  await db.query(
    `UPDATE cdc_reader.snapshot_progress SET last_key = $3, rows_emitted = $4, updated_at = now() WHERE slot_name = $1 AND table_name = $2`,
    [slot, table, JSON.stringify(lastKey), rowsEmitted],
  );
}

export async function finishSnapshotTable(db: Queryable, slot: string, table: string, rowsEmitted: number): Promise<void> {
  await db.query(
    `UPDATE cdc_reader.snapshot_progress SET done = true, rows_emitted = $3, updated_at = now() WHERE slot_name = $1 AND table_name = $2`,
    [slot, table, rowsEmitted],
  );
}

/**
 * Drops a slot (when `dropIt`: it still exists) and forgets the reader's state of it, so the
 * next reader start creates a new slot and takes a new snapshot.
 */
export async function forgetSlot(db: Queryable, slot: string, dropIt: boolean): Promise<void> {
  if (dropIt) await db.query('SELECT pg_drop_replication_slot($1)', [slot]);
  await db.query('DELETE FROM cdc_reader.snapshot_progress WHERE slot_name = $1', [slot]);
  await db.query('DELETE FROM cdc_reader.slots WHERE slot_name = $1', [slot]);
}

export interface SnapshotProgress {
  table: string;
  rowsEmitted: number;
  done: boolean;
  updatedAt: Date;
}

/** What an operator sees of the reader's state of a slot (`pipeline slot status`); empty where the cdc_reader schema is not there. */
export async function readerStateOf(db: Queryable, slot: string): Promise<{ reader: UsedSlot | null; snapshot: SnapshotProgress[] }> {
  const { rows: exists } = await db.query(`SELECT 1 FROM pg_namespace WHERE nspname = 'cdc_reader'`);
  if (exists.length === 0) return { reader: null, snapshot: [] };
  const { rows } = await db.query<{
    created_at: Date;
    consistent_point: string | null;
    last_confirmed_lsn: string | null;
    last_seen_at: Date | null;
  }>(`SELECT created_at, consistent_point::text, last_confirmed_lsn::text, last_seen_at FROM cdc_reader.slots WHERE slot_name = $1`, [
    slot,
  ]);
  const { rows: progress } = await db.query<{ table_name: string; rows_emitted: string; done: boolean; updated_at: Date }>(
    `SELECT table_name, rows_emitted::text, done, updated_at FROM cdc_reader.snapshot_progress WHERE slot_name = $1 ORDER BY table_name`,
    [slot],
  );
  const row = rows[0];
  return {
    reader: row
      ? {
          createdAt: row.created_at,
          consistentPoint: row.consistent_point,
          lastConfirmedLsn: row.last_confirmed_lsn,
          lastSeenAt: row.last_seen_at,
        }
      : null,
    snapshot: progress.map((p) => ({ table: p.table_name, rowsEmitted: Number(p.rows_emitted), done: p.done, updatedAt: p.updated_at })),
  };
}
