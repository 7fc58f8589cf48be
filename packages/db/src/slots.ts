import type { Queryable } from './pool';
import { forgetSlot, readerStateOf, type SnapshotInterruption, type SnapshotProgress, type UsedSlot } from './reader-state';

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
  reader: UsedSlot | null;
  snapshot: SnapshotProgress[];
  /** What interrupted its initial snapshot's attempts so far, while it has not finished. */
  interruption: SnapshotInterruption | null;
}

/** One row of `pg_replication_slots`, with the lag the reader and operators watch. */
export interface SlotRow {
  slot: string;
  plugin: string | null;
  slotType: string;
  database: string | null;
  /** The slot belongs to the database this connection is on. */
  inCurrentDatabase: boolean;
  active: boolean;
  activePid: number | null;
  confirmedFlushLsn: string | null;
  restartLsn: string | null;
  /** WAL written since the confirmed position, bytes (what the reader has yet to confirm). */
  lagBytes: number | null;
  /** WAL the slot keeps on disk, bytes (from restart_lsn). */
  retainedBytes: number | null;
  /** reserved, extended, unreserved, or lost (its WAL was removed: changes were missed). */
  walStatus: string | null;
}

/** Every replication slot of the server, or the one named: the one query of pg_replication_slots. */
export async function slotRows(db: Queryable, only?: string): Promise<SlotRow[]> {
  const { rows } = await db.query<{
    slot_name: string;
    plugin: string | null;
    slot_type: string;
    database: string | null;
    here: boolean;
    active: boolean;
    active_pid: number | null;
    confirmed_flush_lsn: string | null;
    restart_lsn: string | null;
    lag: string | null;
    retained: string | null;
    wal_status: string | null;
  }>(
    `SELECT slot_name, plugin, slot_type, database, database IS NOT DISTINCT FROM current_database() AS here, active, active_pid,
            confirmed_flush_lsn::text, restart_lsn::text,
            pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::text AS lag,
            pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::text AS retained, wal_status
       FROM pg_replication_slots WHERE $1::text IS NULL OR slot_name = $1
      ORDER BY slot_name`,
    [only ?? null],
  );
  return rows.map((row) => ({
    slot: row.slot_name,
    plugin: row.plugin,
    slotType: row.slot_type,
    database: row.database,
    inCurrentDatabase: row.here,
    active: row.active,
    activePid: row.active_pid,
    confirmedFlushLsn: row.confirmed_flush_lsn,
    restartLsn: row.restart_lsn,
    lagBytes: row.lag === null ? null : Number(row.lag),
    retainedBytes: row.retained === null ? null : Number(row.retained),
    walStatus: row.wal_status,
  }));
}

/** Every logical slot of the current database (or the one named), with the reader's view of it. */
export async function slotReports(db: Queryable, only?: string): Promise<SlotReport[]> {
  const reports: SlotReport[] = [];
  for (const row of await slotRows(db, only)) {
    if (row.slotType !== 'logical' || !row.inCurrentDatabase) continue;
    const leader = await leaderLockHolder(db, row.slot);
    reports.push({
      slot: row.slot,
      plugin: row.plugin,
      active: row.active,
      activePid: row.activePid,
      leader: leader ?? null,
      confirmedFlushLsn: row.confirmedFlushLsn,
      restartLsn: row.restartLsn,
      lagBytes: row.lagBytes,
      retainedBytes: row.retainedBytes,
      walStatus: row.walStatus,
      ...(await readerStateOf(db, row.slot)),
    });
  }
  return reports;
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
