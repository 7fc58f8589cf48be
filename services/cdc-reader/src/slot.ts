import {
  adoptSlot,
  beginSlotCreation,
  finishSlotCreation,
  forgetSlot,
  type Queryable,
  recordSnapshotInterruption,
  slotRows,
  snapshotAttemptUnrecorded,
  unfinishedSnapshotTables,
  usedSlot,
} from '@pipeline/db';
import { type Logger, PipelineError } from '@pipeline/runtime';
import type pg from 'pg';
import { publicationExists, publishedTables } from './catalog';
import { createSlotWithSnapshot, type ExportedSlot } from './exported-slot';
import { ENDED_UNRECORDED, SNAPSHOT_ATTEMPTS, snapshotKeepsFailing } from './interruptions';
import { decideSlot } from './slot-decision';

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

/**
 * Checks the publication and the slot before streaming, and carries out what decideSlot says:
 * adopt the slot, create it (with the initial snapshot exported), replace it (the operator's
 * override, saying so), or stop with the reason.
 */
export async function prepareSlot(db: Queryable, options: SlotOptions): Promise<PreparedSlot> {
  const { slot, publication } = options;
  if (!(await publicationExists(db, publication))) {
    throw new PipelineError(
      `publication ${publication} does not exist in database ${options.database}: run \`pipeline migrate\` (it creates it), or set CDC_PUBLICATION`,
      { code: 'PUBLICATION_MISSING', retriable: true },
    );
  }
  const [state] = await slotRows(db, slot);
  const decision = decideSlot({
    slot,
    database: options.database,
    state,
    used: await usedSlot(db, slot),
    unfinishedTables: await unfinishedSnapshotTables(db, slot),
    allowNewSnapshot: options.allowNewSnapshot,
  });
  switch (decision.kind) {
    case 'stop':
      throw decision.error;
    case 'adopt':
      await adoptSlot(db, { slot, systemId: options.systemId, publication, position: decision.position });
      return { created: false, confirmedFlushLsn: decision.position };
    case 'replace':
      options.logger.warn(
        { slot },
        `replication slot ${slot} is replaced because ${decision.why}: changes may have been missed, so CDC_ALLOW_NEW_SNAPSHOT ` +
          'takes a new snapshot; consumers receive every row again as op r',
      );
      await forgetSlot(db, slot, decision.slotExists);
      return createSlot(db, { ...options, snapshot: 'initial' });
    case 'create':
      if (decision.discard) {
        // The last attempt's reader ended without recording why: that counts as an interruption too.
        if (await snapshotAttemptUnrecorded(db, slot)) {
          const { times, message } = await recordSnapshotInterruption(db, slot, ENDED_UNRECORDED.cause, ENDED_UNRECORDED.message);
          if (times >= SNAPSHOT_ATTEMPTS) throw snapshotKeepsFailing(slot, times, message);
        }
        options.logger.warn(
          { slot },
          `${decision.discard.why}: an exported snapshot dies with its connection, so slot ${slot} is dropped and a new snapshot is taken`,
        );
        await forgetSlot(db, slot, decision.discard.slotExists);
      }
      return createSlot(db, options);
    default: {
      const unknown: never = decision;
      throw new Error(`unknown slot decision ${JSON.stringify(unknown)}`);
    }
  }
}

/** Creates the slot, recording its creation before and its consistent point after (see beginSlotCreation). */
async function createSlot(db: Queryable, options: SlotOptions): Promise<PreparedSlot> {
  const { slot, publication } = options;
  const tables = options.snapshot === 'initial' ? await publishedTables(db, publication) : [];
  await beginSlotCreation(db, {
    slot,
    systemId: options.systemId,
    publication,
    snapshotTables: tables.map((t) => `${t.schema}.${t.table}`),
  });
  let consistentPoint: string;
  let exported: ExportedSlot | undefined;
  if (options.snapshot === 'initial') {
    exported = await createSlotWithSnapshot(options.connection, slot);
    consistentPoint = exported.consistentPoint;
  } else {
    const { rows } = await db.query<{ lsn: string }>(`SELECT lsn::text FROM pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]);
    consistentPoint = rows[0]?.lsn ?? '0/0';
  }
  await finishSlotCreation(db, slot, consistentPoint);
  return { created: true, confirmedFlushLsn: consistentPoint, ...(exported ? { exported } : {}) };
}
