/** A table the publication captures. */
export interface PublishedTable {
  oid: number;
  schema: string;
  table: string;
}

export async function publicationExists(db: Queryable, publication: string): Promise<boolean> {
  const { rows } = await db.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [publication]);
  return rows.length > 0;
}

export async function publishedTables(db: Queryable, publication: string): Promise<PublishedTable[]> {
  const { rows } = await db.query<{ oid: number; schema: string; table: string }>(
    `SELECT c.oid::int AS oid, pt.schemaname AS schema, pt.tablename AS table
       FROM pg_publication_tables pt
       JOIN pg_namespace n ON n.nspname = pt.schemaname
       JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = pt.tablename
      WHERE pt.pubname = $1
      ORDER BY 2, 3`,
    [publication],
  );
  return rows;
}

/** The primary key's columns in key order (not the replica identity's, which is every column under FULL). */
export async function primaryKeyColumns(db: Queryable, relationOid: number): Promise<string[]> {
  const { rows } = await db.query<{ name: string }>(
    `SELECT a.attname AS name
       FROM pg_index i
       JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, position) ON true
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
      WHERE i.indrelid = $1 AND i.indisprimary
      ORDER BY k.position`,
    [relationOid],
  );
  return rows.map((row) => row.name);
}

/** The database's system identifier: with the commit LSN it makes event ids unique across databases. */
export async function systemIdentifier(db: Queryable): Promise<{ systemId: string; database: string }> {
  const { rows } = await db.query<{ system_id: string; database: string }>(
    'SELECT system_identifier::text AS system_id, current_database() AS database FROM pg_control_system()',
  );
  const row = rows[0];
  if (!row) throw new Error('pg_control_system() returned nothing');
  return { systemId: row.system_id, database: row.database };
}

export interface SlotState {
  plugin: string | null;
  database: string | null;
  slotType: string;
  active: boolean;
  activePid: number | null;
  confirmedFlushLsn: string | null;
  restartLsn: string | null;
  /** reserved, extended, unreserved, or lost (its WAL was removed: changes were missed). */
  walStatus: string | null;
}

export async function slotState(db: Queryable, slot: string): Promise<SlotState | undefined> {
  const { rows } = await db.query<{
    plugin: string | null;
    database: string | null;
    slot_type: string;
    active: boolean;
    active_pid: number | null;
    confirmed_flush_lsn: string | null;
    restart_lsn: string | null;
    wal_status: string | null;
  }>(
    `SELECT plugin, database, slot_type, active, active_pid, confirmed_flush_lsn::text, restart_lsn::text, wal_status
       FROM pg_replication_slots WHERE slot_name = $1`,
    [slot],
  );
  const row = rows[0];
  if (!row) return undefined;
  return {
    plugin: row.plugin,
    database: row.database,
    slotType: row.slot_type,
    active: row.active,
    activePid: row.active_pid,
    confirmedFlushLsn: row.confirmed_flush_lsn,
    restartLsn: row.restart_lsn,
    walStatus: row.wal_status,
  };
}

/** How far the slot is behind: bytes to confirm (lag) and bytes of WAL it holds back (retained). */
export async function slotLag(
  db: Queryable,
  slot: string,
): Promise<{ lagBytes: number; retainedBytes: number; active: boolean } | undefined> {
  const { rows } = await db.query<{ lag: string; retained: string; active: boolean }>(
    `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::text AS lag,
            pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::text AS retained,
            active
       FROM pg_replication_slots WHERE slot_name = $1`,
    [slot],
  );
  const row = rows[0];
  return row ? { lagBytes: Number(row.lag), retainedBytes: Number(row.retained), active: row.active } : undefined;
}

import type { Queryable } from '@pipeline/db';
