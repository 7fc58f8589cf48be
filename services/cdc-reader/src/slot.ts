import { forgetSlot, type Queryable } from '@pipeline/db';
import type { Logger } from '@pipeline/runtime';
import type pg from 'pg';
import { publicationExists, publishedTables, slotState } from './catalog';
import { createSlotWithSnapshot, type ExportedSlot } from './exported-slot';

/** A condition the reader must not work around: it stops and says what happened and what to do. */
export class FatalReaderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FatalReaderError';
  }
}

export interface SlotOptions {
  slot: string;
  publication: string;
  systemId: string;
  database: string;
  /** `initial`: a new slot exports a snapshot and the existing rows are read; `never`: only changes from now on. */
  snapshot: 'initial' | 'never';
  /**
   * The operator allows a new slot and snapshot in place of one that vanished or lost WAL
   * (CDC_ALLOW_NEW_SNAPSHOT): the gap is logged, and the new snapshot re-reads every row.
   */
  allowNewSnapshot: boolean;
  /** Replication connection settings (a slot with an exported snapshot is created on one). */
  connection: pg.ClientConfig;
  logger: Logger;
}

export interface PreparedSlot {
  created: boolean;
  confirmedFlushLsn: string;
  /** Set when the slot was just created with a snapshot to read before streaming; close it after. */
  exported?: ExportedSlot;
}

/** The operator's override: forget a slot that missed changes (saying so) so a new one and a new snapshot replace it. */
async function replaceSlot(db: Queryable, options: SlotOptions, why: string, slotExists: boolean): Promise<void> {
  options.logger.warn(
    { slot: options.slot },
    `replication slot ${options.slot} is replaced because ${why}: changes may have been missed, so CDC_ALLOW_NEW_SNAPSHOT ` +
      'takes a new snapshot; consumers receive every row again as op r',
  );
  await forgetSlot(db, options.slot, slotExists);
}

/** Drops a slot whose creation or initial snapshot did not finish, and forgets it, so it is made again. */
async function discardUnfinished(db: Queryable, options: SlotOptions, why: string, slotExists: boolean): Promise<void> {
  options.logger.warn(
    { slot: options.slot },
    `${why}: an exported snapshot dies with its connection, so slot ${options.slot} is dropped and a new snapshot is taken`,
  );
  await forgetSlot(db, options.slot, slotExists);
}

/**
 * Checks the publication and the slot before streaming. A missing slot is created only when this
 * reader never used one of that name (its state table says so); one it used and that is gone, or
 * whose WAL was removed, means changes were missed: that stops the reader rather than silently
 * starting after the gap.
 */
export async function prepareSlot(db: Queryable, options: SlotOptions): Promise<PreparedSlot> {
  const { slot, publication } = options;
  if (!(await publicationExists(db, publication))) {
    throw new Error(
      `publication ${publication} does not exist in database ${options.database}: run \`pipeline migrate\` (it creates it), or set CDC_PUBLICATION`,
    );
  }
  const { rows: history } = await db.query<{ created_at: Date; last_confirmed_lsn: string | null; consistent_point: string | null }>(
    'SELECT created_at, last_confirmed_lsn::text, consistent_point::text FROM cdc_reader.slots WHERE slot_name = $1 AND retired_at IS NULL',
    [slot],
  );
  const { rows: pending } = await db.query<{ table_name: string }>(
    'SELECT table_name FROM cdc_reader.snapshot_progress WHERE slot_name = $1 AND NOT done ORDER BY table_name',
    [slot],
  );
  let state = await slotState(db, slot);
  let used = history[0];
  if (used && used.consistent_point === null) {
    await discardUnfinished(db, options, `creating slot ${slot} did not finish`, state !== undefined);
    state = undefined;
    used = undefined;
  } else if (state && pending.length > 0) {
    await discardUnfinished(
      db,
      options,
      `the initial snapshot of slot ${slot} was interrupted (${pending.map((p) => p.table_name).join(', ')} not done)`,
      true,
    );
    state = undefined;
    used = undefined;
  }
  if (state) {
    if (state.slotType !== 'logical' || state.plugin !== 'pgoutput') {
      throw new FatalReaderError(
        `replication slot ${slot} exists but is ${state.slotType}/${state.plugin}, not logical/pgoutput: choose another CDC_SLOT_NAME`,
      );
    }
    if (state.database !== options.database) {
      throw new FatalReaderError(
        `replication slot ${slot} belongs to database ${state.database}, not ${options.database}: choose another CDC_SLOT_NAME`,
      );
    }
    if (state.walStatus === 'lost' && options.allowNewSnapshot) {
      await replaceSlot(db, options, 'its WAL was removed (wal_status lost)', true);
      return createSlot(db, { ...options, snapshot: 'initial' });
    }
    if (state.walStatus === 'lost') {
      throw new FatalReaderError(
        `replication slot ${slot} is lost: PostgreSQL removed WAL it still needed (max_slot_wal_keep_size), so changes were missed. ` +
          'To take a new snapshot in its place, restart the reader with CDC_ALLOW_NEW_SNAPSHOT=true; nothing is streamed until then',
      );
    }
    // A slot made elsewhere is adopted as it stands (its position is its consistent point).
    await db.query(
      `INSERT INTO cdc_reader.slots (slot_name, database_system_id, publication, consistent_point, last_confirmed_lsn, last_seen_at)
       VALUES ($1, $2, $3, $4, $4, now())
       ON CONFLICT (slot_name) DO UPDATE SET last_seen_at = now()`,
      [slot, options.systemId, publication, state.confirmedFlushLsn ?? '0/0'],
    );
    return { created: false, confirmedFlushLsn: state.confirmedFlushLsn ?? '0/0' };
  }
  if (used && options.allowNewSnapshot) {
    await replaceSlot(db, options, `it vanished (last confirmed ${used.last_confirmed_lsn ?? 'unknown'})`, false);
    return createSlot(db, { ...options, snapshot: 'initial' });
  }
  if (used) {
    throw new FatalReaderError(
      `replication slot ${slot}, used by this reader since ${used.created_at.toISOString()}, no longer exists: changes committed after ` +
        `${used.last_confirmed_lsn ?? 'its last confirmed position'} may have been missed. To take a new snapshot in its place ` +
        '(every row again as op r), restart the reader with CDC_ALLOW_NEW_SNAPSHOT=true; nothing is streamed until then',
    );
  }
  return createSlot(db, options);
}

/**
 * Records the slot as being created (no consistent point yet) and, for a snapshot, every table
 * as not done, before creating it: a crash anywhere in between is recognised on restart as an
 * unfinished creation, never mistaken for a slot that streamed.
 */
async function createSlot(db: Queryable, options: SlotOptions): Promise<PreparedSlot> {
  const { slot, publication } = options;
  await db.query(`INSERT INTO cdc_reader.slots (slot_name, database_system_id, publication, last_seen_at) VALUES ($1, $2, $3, now())`, [
    slot,
    options.systemId,
    publication,
  ]);
  let consistentPoint: string;
  let exported: ExportedSlot | undefined;
  if (options.snapshot === 'initial') {
    const tables = await publishedTables(db, publication);
    await db.query(`INSERT INTO cdc_reader.snapshot_progress (slot_name, table_name) SELECT $1, unnest($2::text[])`, [
      slot,
      tables.map((t) => `${t.schema}.${t.table}`),
    ]);
    exported = await createSlotWithSnapshot(options.connection, slot);
    consistentPoint = exported.consistentPoint;
  } else {
    const { rows } = await db.query<{ lsn: string }>(`SELECT lsn::text FROM pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]);
    consistentPoint = rows[0]?.lsn ?? '0/0';
  }
  await db.query('UPDATE cdc_reader.slots SET consistent_point = $2, last_confirmed_lsn = $2 WHERE slot_name = $1', [
    slot,
    consistentPoint,
  ]);
  return { created: true, confirmedFlushLsn: consistentPoint, ...(exported ? { exported } : {}) };
}

/** Remembers the last confirmed position in the state table (for the vanished-slot message). */
export async function recordConfirmed(db: Queryable, slot: string, lsn: string): Promise<void> {
  await db.query('UPDATE cdc_reader.slots SET last_confirmed_lsn = $2, last_seen_at = now() WHERE slot_name = $1', [slot, lsn]);
}
