import type { Queryable } from './pool';

/** The advisory-lock key of a slot's leader lock: one cdc-reader streams, standbys wait on it. */
export function leaderLockKey(slot: string): string {
  return `pipeline.cdc-reader:${slot}`;
}

/** The session holding a slot's leader lock, if any. */
export async function leaderLockHolder(
  db: Queryable,
  slot: string,
): Promise<{ pid: number; application: string; clientAddr: string | null } | undefined> {
  const { rows } = await db.query<{ pid: number; application: string; client_addr: string | null }>(
    `SELECT l.pid, a.application_name AS application, a.client_addr::text
       FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted
        AND ((l.classid::bigint << 32) | l.objid::bigint) = hashtextextended($1, 0)
      LIMIT 1`,
    [leaderLockKey(slot)],
  );
  const row = rows[0];
  return row ? { pid: row.pid, application: row.application, clientAddr: row.client_addr } : undefined;
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

/** What an operator needs to know about one logical replication slot (`pipeline slot status`). */
export interface SlotReport {
  slot: string;
  plugin: string | null;
  active: boolean;
  /** The walsender streaming from it. */
  activePid: number | null;
  /** The reader holding the slot's leader lock, if any (standbys wait for it). */
  leader: { pid: number; application: string; clientAddr: string | null } | null;
  confirmedFlushLsn: string | null;
  restartLsn: string | null;
  /** WAL written since the confirmed position, bytes. */
  lagBytes: number | null;
  /** WAL the slot keeps on disk, bytes. */
  retainedBytes: number | null;
  /** reserved, extended, unreserved or lost (changes were missed). */
  walStatus: string | null;
  /** The reader's state table: when it created the slot and where its snapshot stood. */
  reader: { createdAt: Date; consistentPoint: string | null; lastConfirmedLsn: string | null; lastSeenAt: Date | null } | null;
  snapshot: { table: string; rowsEmitted: number; done: boolean; updatedAt: Date }[];
}

/** Every logical slot of the current database (or the one named), with the reader's view of it. */
export async function slotReports(db: Queryable, only?: string): Promise<SlotReport[]> {
  const { rows } = await db.query<{
    slot_name: string;
    plugin: string | null;
    active: boolean;
    active_pid: number | null;
    confirmed_flush_lsn: string | null;
    restart_lsn: string | null;
    lag: string | null;
    retained: string | null;
    wal_status: string | null;
  }>(
    `SELECT slot_name, plugin, active, active_pid, confirmed_flush_lsn::text, restart_lsn::text,
            pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::text AS lag,
            pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::text AS retained, wal_status
       FROM pg_replication_slots
      WHERE slot_type = 'logical' AND database = current_database() AND ($1::text IS NULL OR slot_name = $1)
      ORDER BY slot_name`,
    [only ?? null],
  );
  const reports: SlotReport[] = [];
  for (const row of rows) {
    const leader = await leaderLockHolder(db, row.slot_name);
    const state = await readerState(db, row.slot_name);
    reports.push({
      slot: row.slot_name,
      plugin: row.plugin,
      active: row.active,
      activePid: row.active_pid,
      leader: leader ?? null,
      confirmedFlushLsn: row.confirmed_flush_lsn,
      restartLsn: row.restart_lsn,
      lagBytes: row.lag === null ? null : Number(row.lag),
      retainedBytes: row.retained === null ? null : Number(row.retained),
      walStatus: row.wal_status,
      ...state,
    });
  }
  return reports;
}

/** The reader's state table rows of a slot; empty where the cdc_reader schema is not there. */
async function readerState(db: Queryable, slot: string): Promise<Pick<SlotReport, 'reader' | 'snapshot'>> {
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

/** A slot a walsender streams from cannot be dropped. */
export class SlotBusyError extends Error {
  constructor(slot: string, pid: number | null) {
    super(
      `slot ${slot} is active (walsender pid ${pid ?? '?'}): stop the cdc-reader that streams from it (and its standbys) first, then drop it`,
    );
    this.name = 'SlotBusyError';
  }
}

/**
 * Drops a slot that no walsender uses and forgets the reader's state of it, so the next reader
 * start creates a new slot and takes a new snapshot. Refuses an active slot.
 */
export async function dropSlot(db: Queryable, slot: string): Promise<void> {
  const [report] = await slotReports(db, slot);
  if (!report) throw new Error(`no logical replication slot named ${slot} in this database; \`pipeline slot status\` lists them`);
  if (report.active) throw new SlotBusyError(slot, report.activePid);
  if (report.reader || report.snapshot.length > 0) await forgetSlot(db, slot, true);
  else await db.query('SELECT pg_drop_replication_slot($1)', [slot]);
}
