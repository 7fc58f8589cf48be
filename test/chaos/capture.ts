import type { Pool } from '@pipeline/db';
import { readTopicToEnd, SchemaResolver } from '@pipeline/kafka';
import { bundledSchemas, type Change, EnvelopeDecoder, isSnapshotEnd, SCHEMA_TOPIC, toChange } from '@pipeline/schemas';
import type { Kafka } from 'kafkajs';

/**
 * Capture as the harness sees it on its own, without the cdc-reader: a logical slot of its own on
 * the shipped `test_decoding` plugin (what PostgreSQL says was committed), and the cdc topics read
 * back from the first offset (what the pipeline says was captured).
 */

export const WITNESS_SLOT = 'chaos_witness';

/** Created before the workload starts: from then on, every committed transaction is listed by the slot. */
export async function createWitnessSlot(pool: Pool): Promise<void> {
  await pool.query(`SELECT pg_create_logical_replication_slot($1, 'test_decoding')`, [WITNESS_SLOT]);
}

/** A committed transaction on the captured tables: its xid and how many row changes it made there. */
export interface WitnessedTransaction {
  xid: number;
  /** The commit record's end LSN, as the slot lists it. */
  commitEndLsn: string;
  changes: number;
}

const TABLE_LINE = /^table ([^:]+): (INSERT|UPDATE|DELETE|TRUNCATE):/;

/** Everything the witness slot lists since it was created, counted per transaction (only the captured tables). */
export async function witnessedTransactions(pool: Pool, captured: ReadonlySet<string>): Promise<WitnessedTransaction[]> {
  const { rows } = await pool.query<{ lsn: string; xid: string; data: string }>(
    `SELECT lsn::text, xid::text, data FROM pg_logical_slot_get_changes($1, NULL, NULL, 'include-xids', '1', 'skip-empty-xacts', '1')`,
    [WITNESS_SLOT],
  );
  const counts = new Map<number, number>();
  const transactions: WitnessedTransaction[] = [];
  for (const row of rows) {
    const xid = Number(row.xid);
    const table = TABLE_LINE.exec(row.data)?.[1];
    // test_decoding quotes identifiers only when they need it; the captured tables' names never do.
    if (table && captured.has(table)) counts.set(xid, (counts.get(xid) ?? 0) + 1);
    if (row.data.startsWith('COMMIT') && (counts.get(xid) ?? 0) > 0) {
      transactions.push({ xid, commitEndLsn: row.lsn, changes: counts.get(xid) as number });
    }
  }
  return transactions;
}

/** The captured tables, `schema.table`, as the publication lists them. */
export async function capturedTables(pool: Pool, publication = 'pipeline'): Promise<Set<string>> {
  const { rows } = await pool.query<{ name: string }>(
    `SELECT schemaname || '.' || tablename AS name FROM pg_publication_tables WHERE pubname = $1`,
    [publication],
  );
  return new Set(rows.map((row) => row.name));
}

/** A change read back from a cdc topic, with where it was. */
export interface CapturedEvent {
  topic: string;
  partition: number;
  offset: bigint;
  change: Change<Record<string, unknown>>;
}

/** Every change on `topics`, read from the first offset to the high watermark each had when the read began. */
export async function readCaptured(kafka: Kafka, topics: readonly string[]): Promise<CapturedEvent[]> {
  const decoder = new EnvelopeDecoder(new SchemaResolver({ kafka, topic: SCHEMA_TOPIC, bundled: bundledSchemas() }).resolve);
  const events: CapturedEvent[] = [];
  for (const topic of topics) {
    const raw: { partition: number; offset: bigint; value: Buffer | null }[] = [];
    await readTopicToEnd(kafka, topic, {
      onMessage: (message, partition) => raw.push({ partition, offset: BigInt(message.offset), value: message.value }),
      timeoutMs: 300_000,
    });
    for (const { partition, offset, value } of raw) {
      const decoded = await decoder.decodeEvent<Record<string, unknown>>(value);
      if (!isSnapshotEnd(decoded)) events.push({ topic, partition, offset, change: toChange(decoded) });
    }
  }
  return events;
}
