import type { Queryable } from '@pipeline/schemas';
import { publicationExists, slotState } from './catalog';

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
}

/**
 * Checks the publication and the slot before streaming. A missing slot is created only when this
 * reader never used one of that name (its state table says so); one it used and that is gone, or
 * whose WAL was removed, means changes were missed: that stops the reader rather than silently
 * starting after the gap.
 */
export async function prepareSlot(db: Queryable, options: SlotOptions): Promise<{ created: boolean; confirmedFlushLsn: string }> {
  const { slot, publication } = options;
  if (!(await publicationExists(db, publication))) {
    throw new Error(
      `publication ${publication} does not exist in database ${options.database}: run \`pipeline migrate\` (it creates it), or set CDC_PUBLICATION`,
    );
  }
  const state = await slotState(db, slot);
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
    if (state.walStatus === 'lost') {
      throw new FatalReaderError(
        `replication slot ${slot} is lost: PostgreSQL removed WAL it still needed (max_slot_wal_keep_size), so changes were missed. ` +
          'Drop the slot and start again with a new snapshot; nothing is streamed until then',
      );
    }
    await db.query(
      `INSERT INTO cdc_reader.slots (slot_name, database_system_id, publication, last_seen_at)
       VALUES ($1, $2, $3, now())
       ON CONFLICT (slot_name) DO UPDATE SET last_seen_at = now()`,
      [slot, options.systemId, publication],
    );
    return { created: false, confirmedFlushLsn: state.confirmedFlushLsn ?? '0/0' };
  }
  const { rows: history } = await db.query<{ created_at: Date; last_confirmed_lsn: string | null }>(
    'SELECT created_at, last_confirmed_lsn::text FROM cdc_reader.slots WHERE slot_name = $1 AND retired_at IS NULL',
    [slot],
  );
  const used = history[0];
  if (used) {
    throw new FatalReaderError(
      `replication slot ${slot}, used by this reader since ${used.created_at.toISOString()}, no longer exists: changes committed after ` +
        `${used.last_confirmed_lsn ?? 'its last confirmed position'} may have been missed. Recreate it with a new snapshot ` +
        '(the snapshot arrives with cdc-reader part 2); nothing is streamed until then',
    );
  }
  const { rows } = await db.query<{ lsn: string }>(`SELECT lsn::text FROM pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]);
  const consistentPoint = rows[0]?.lsn ?? '0/0';
  await db.query(
    `INSERT INTO cdc_reader.slots (slot_name, database_system_id, publication, consistent_point, last_confirmed_lsn, last_seen_at)
     VALUES ($1, $2, $3, $4, $4, now())`,
    [slot, options.systemId, publication, consistentPoint],
  );
  return { created: true, confirmedFlushLsn: consistentPoint };
}

/** Remembers the last confirmed position in the state table (for the vanished-slot message). */
export async function recordConfirmed(db: Queryable, slot: string, lsn: string): Promise<void> {
  await db.query('UPDATE cdc_reader.slots SET last_confirmed_lsn = $2, last_seen_at = now() WHERE slot_name = $1', [slot, lsn]);
}
