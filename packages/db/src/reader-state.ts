import { UnrecoverableError } from '@pipeline/runtime';
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
export async function readerStateOf(
  db: Queryable,
  slot: string,
): Promise<{ reader: UsedSlot | null; snapshot: SnapshotProgress[]; interruption: SnapshotInterruption | null }> {
  const { rows: exists } = await db.query<{ interruptions: boolean }>(
    `SELECT to_regclass('cdc_reader.snapshot_interruptions') IS NOT NULL AS interruptions FROM pg_namespace WHERE nspname = 'cdc_reader'`,
  );
  if (exists.length === 0) return { reader: null, snapshot: [], interruption: null };
  const interruption = exists[0]?.interruptions ? ((await snapshotInterruptionOf(db, slot)) ?? null) : null;
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
    interruption,
  };
}

/** What interrupted a slot's initial snapshot, and how many attempts in a row it interrupted. */
export interface SnapshotInterruption {
  /** A stable key of the cause (an error code or class), compared between attempts. */
  cause: string;
  message: string;
  times: number;
}

/** The interruptions table comes with migration 0019: a database not migrated since says so, once, instead of failing every attempt. */
function unmigrated(error: unknown): unknown {
  if ((error as { code?: unknown } | undefined)?.code !== '42P01') return error;
  return new UnrecoverableError(
    'cdc_reader.snapshot_interruptions does not exist: this database lacks migration 0019. Apply the migrations ' +
      '(`npx pipeline migrate`, or the reader image’s `node dist/main.js prepare`), then start the reader again',
    { code: 'MIGRATIONS_MISSING', cause: error },
  );
}

/** An attempt at the initial snapshot starts: marked running until it finishes or is interrupted. */
export async function markSnapshotRunning(db: Queryable, slot: string): Promise<void> {
  await db
    .query(
      `INSERT INTO cdc_reader.snapshot_interruptions (slot_name, running) VALUES ($1, true)
       ON CONFLICT (slot_name) DO UPDATE SET running = true, updated_at = now()`,
      [slot],
    )
    .catch((error: unknown) => {
      throw unmigrated(error);
    });
}

/**
 * An attempt ended with `cause`: counted in a row with the previous ones when the cause is the
 * same, else counted as the first. Returns the count.
 */
export async function recordSnapshotInterruption(
  db: Queryable,
  slot: string,
  cause: string,
  message: string,
): Promise<SnapshotInterruption> {
  const { rows } = await db.query<{ times: number }>(
    `INSERT INTO cdc_reader.snapshot_interruptions AS s (slot_name, cause, message, times, running) VALUES ($1, $2, $3, 1, false)
     ON CONFLICT (slot_name) DO UPDATE
       SET times = CASE WHEN s.cause = EXCLUDED.cause THEN s.times + 1 ELSE 1 END,
           cause = EXCLUDED.cause, message = EXCLUDED.message, running = false, updated_at = now()
     RETURNING times`,
    [slot, cause, message.slice(0, 2_000)],
  );
  return { cause, message, times: rows[0]?.times ?? 1 };
}

/** An attempt stopped for a reason that is not its own (the reader stopping, the leader lock lost): not counted. */
export async function settleSnapshotAttempt(db: Queryable, slot: string): Promise<void> {
  await db.query('UPDATE cdc_reader.snapshot_interruptions SET running = false, updated_at = now() WHERE slot_name = $1', [slot]);
}

/** True when the last attempt was still marked running: its reader ended without saying why (killed, out of memory). */
export async function snapshotAttemptUnrecorded(db: Queryable, slot: string): Promise<boolean> {
  const { rows } = await db
    .query<{ running: boolean }>('SELECT running FROM cdc_reader.snapshot_interruptions WHERE slot_name = $1', [slot])
    .catch((error: unknown) => {
      throw unmigrated(error);
    });
  return rows[0]?.running === true;
}

/** The snapshot finished: what interrupted earlier attempts no longer matters. */
export async function finishSnapshotAttempts(db: Queryable, slot: string): Promise<void> {
  await db.query('DELETE FROM cdc_reader.snapshot_interruptions WHERE slot_name = $1', [slot]);
}

/** What interrupted a slot's snapshot so far (`pipeline slot status`); undefined when nothing did, or the table is not there. */
export async function snapshotInterruptionOf(db: Queryable, slot: string): Promise<SnapshotInterruption | undefined> {
  const { rows } = await db.query<{ cause: string | null; message: string | null; times: number }>(
    `SELECT cause, message, times FROM cdc_reader.snapshot_interruptions WHERE slot_name = $1 AND times > 0`,
    [slot],
  );
  const row = rows[0];
  return row?.cause ? { cause: row.cause, message: row.message ?? '', times: row.times } : undefined;
}
