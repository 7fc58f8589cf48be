import { failureHeaders, READER_DLQ_HEADERS } from '@pipeline/kafka';
import { PipelineError } from '@pipeline/runtime';
import {
  EVENT_HEADERS,
  encodeSingleObject,
  type ParsedSchema,
  SNAPSHOT_END,
  type SnapshotEndRecord,
  snapshotEndEventId,
  snapshotEndSchema,
  type TransactionRecord,
  transactionSchema,
} from '@pipeline/schemas';
import type { Message } from 'kafkajs';
import type { OutEvent } from './mapper';
import { traceparent } from './trace';

/**
 * Every Kafka record the reader writes, built by pure functions: change records (from the stream
 * and the snapshot alike), end-of-snapshot records, BEGIN/END transaction records, and dead letters.
 */

/** A record and the bytes it adds to a batch. */
export interface BuiltRecord {
  message: Message;
  bytes: number;
}

/** The headers every record of the contract carries. */
function contractHeaders(eventId: string, writer: ParsedSchema, traceId: string): Record<string, string> {
  return {
    [EVENT_HEADERS.eventId]: eventId,
    [EVENT_HEADERS.schemaFingerprint]: writer.fingerprint.hex,
    [EVENT_HEADERS.traceparent]: traceparent(traceId, eventId),
  };
}

/** A change as a record: Avro value, keyed by the row's key, with the contract's headers (and a partition for truncates). */
export function changeRecord(event: OutEvent, writer: ParsedSchema, traceId: string): BuiltRecord {
  const value = encodeSingleObject(writer, event.envelope);
  const eventId = event.envelope.eventId;
  return {
    message: {
      key: event.key,
      value,
      headers: {
        ...contractHeaders(eventId, writer, traceId),
        ...(event.movedKey === undefined ? {} : { [EVENT_HEADERS.keyMoved]: event.movedKey }),
      },
      ...(event.partition === undefined ? {} : { partition: event.partition }),
    },
    bytes: value.length + (event.key?.length ?? 0),
  };
}

/** What the end of one table's snapshot says. */
export interface SnapshotEndFacts {
  systemId: string;
  db: string;
  /** `<schema>.<table>`. */
  schema: string;
  table: string;
  slot: string;
  consistentPoint: string;
  /** Partitions of the table's topic: one record goes to each. */
  partitions: number;
  /** Rows the snapshot read of the table. */
  rows: number;
  nowMs: number;
}

/**
 * The end of a table's snapshot: one control record per partition of its topic (null key, the
 * partition set), after every row of the snapshot, so each partition's consumer sees where the
 * snapshot's rows end. The `control` header says what it is without decoding.
 */
export function snapshotEndRecords(facts: SnapshotEndFacts, traceId: string): BuiltRecord[] {
  const schema = snapshotEndSchema();
  return Array.from({ length: facts.partitions }, (_, partition) => {
    const record: SnapshotEndRecord = {
      db: facts.db,
      schema: facts.schema,
      table: facts.table,
      slot: facts.slot,
      consistentPoint: facts.consistentPoint,
      partition,
      partitions: facts.partitions,
      rows: facts.rows,
      eventId: snapshotEndEventId(facts.systemId, facts.consistentPoint, `${facts.schema}.${facts.table}`, partition),
      tsMs: facts.nowMs,
    };
    const value = encodeSingleObject(schema, record);
    return {
      message: {
        key: null,
        value,
        partition,
        headers: { ...contractHeaders(record.eventId, schema, traceId), [EVENT_HEADERS.control]: SNAPSHOT_END },
      },
      bytes: value.length,
    };
  });
}

/** What a BEGIN or END record says of its transaction. */
export interface TransactionFacts {
  systemId: string;
  commitLsn: string;
  xid: number;
  commitTs: string;
  /** Events produced per table (`<schema>.<table>`); counted on END only. */
  perTable: ReadonlyMap<string, number>;
}

/**
 * BEGIN before a transaction's first event, END after its last with the events it produced per
 * table, keyed `<system id>:<commit LSN>` (the prefix of its events' ids).
 */
export function transactionRecord(status: 'BEGIN' | 'END', tx: TransactionFacts, traceId: string): BuiltRecord {
  const dataCollections = status === 'END' ? [...tx.perTable].map(([table, eventCount]) => ({ table, eventCount })) : [];
  const record: TransactionRecord = {
    status,
    id: `${tx.systemId}:${tx.commitLsn}`,
    txId: tx.xid,
    lsn: tx.commitLsn,
    commitTs: tx.commitTs,
    eventCount: dataCollections.reduce((sum, c) => sum + c.eventCount, 0),
    dataCollections,
  };
  const schema = transactionSchema();
  const value = encodeSingleObject(schema, record);
  const eventId = `${record.id}:${status}`;
  return {
    message: { key: record.id, value, headers: contractHeaders(eventId, schema, traceId) },
    bytes: value.length + record.id.length,
  };
}

/** The reader's name as a dead letter's consumer group: `pipeline dlq … --service cdc-reader`. */
const READER_SERVICE = 'cdc-reader';

/** A change the reader could not encode: not retriable, since the same bytes fail the same way. */
export class UnencodableChangeError extends PipelineError {
  constructor(subject: string, reason: string, cause: unknown) {
    super(reason, { code: 'UNENCODABLE_CHANGE', retriable: false, cause });
    this.name = 'UnencodableChangeError';
    this.subject = subject;
  }

  readonly subject: string;
}

export interface DeadLetterInput {
  /** `<schema>.<table>`. */
  subject: string;
  /** The topic the change was for. */
  topic: string;
  eventId: string;
  commitLsn: string;
  xid: number;
  /** The change as pgoutput delivered it (its relation left out). */
  change: { tag: string } & Record<string, unknown>;
  error: unknown;
  nowMs: number;
}

/**
 * A change the reader could not encode, as a record of its dead-letter topic: the change as
 * JSON, keyed by the table, with the same failure headers a consumer's dead letter has (so
 * `pipeline dlq` reads both). It never reached a partition of its topic: partition -1, no offset.
 */
export function deadLetterRecord(input: DeadLetterInput): BuiltRecord & { reason: string } {
  const reason = input.error instanceof Error ? input.error.message : String(input.error);
  const value = JSON.stringify(
    { table: input.subject, tag: input.change.tag, commitLsn: input.commitLsn, xid: input.xid, change: input.change },
    (key, field) => (key === 'relation' || key === 'relations' ? undefined : typeof field === 'bigint' ? field.toString() : field),
  );
  const headers = {
    [EVENT_HEADERS.eventId]: input.eventId,
    [READER_DLQ_HEADERS.errorMessage]: reason.slice(0, 1000),
    [READER_DLQ_HEADERS.sourceTable]: input.subject,
    [READER_DLQ_HEADERS.sourceLsn]: input.commitLsn,
    ...failureHeaders({
      originalTopic: input.topic,
      originalPartition: -1,
      originalOffset: '',
      attempt: 1,
      firstFailureAtMs: input.nowMs,
      consumerGroup: READER_SERVICE,
      error: new UnencodableChangeError(input.subject, reason, input.error),
    }),
  };
  return { message: { key: input.subject, value, headers }, bytes: value.length, reason };
}
