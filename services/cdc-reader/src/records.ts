import { failureHeaders, partitionOf, READER_DLQ_HEADERS, recordBytes } from '@pipeline/kafka';
import { PipelineError } from '@pipeline/runtime';
import {
  controlKey,
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

/** A record and the most bytes it adds to a batch (recordBytes: key, value, headers and framing). */
export interface BuiltRecord {
  message: Message;
  bytes: number;
}

/** A message with the bytes it takes in a batch. */
const built = (message: Message): BuiltRecord => ({ message, bytes: recordBytes(message) });

/** The headers every record of the contract carries. */
function contractHeaders(eventId: string, writer: ParsedSchema, traceId: string): Record<string, string> {
  return {
    [EVENT_HEADERS.eventId]: eventId,
    [EVENT_HEADERS.schemaFingerprint]: writer.fingerprint.hex,
    [EVENT_HEADERS.traceparent]: traceparent(traceId, eventId),
  };
}

/**
 * A change as a record: Avro value, keyed by the row's key, with the contract's headers (and a
 * partition for truncates). Its timestamp is when the reader read the change (the envelope's
 * tsMs), as every record the reader writes: the time it was made, not when a batch left.
 */
export function changeRecord(event: OutEvent, writer: ParsedSchema, traceId: string): BuiltRecord {
  const value = encodeSingleObject(writer, event.envelope);
  const eventId = event.envelope.eventId;
  return built({
    key: event.key,
    value,
    timestamp: String(event.envelope.tsMs),
    headers: {
      ...contractHeaders(eventId, writer, traceId),
      ...(event.movedKey === undefined ? {} : { [EVENT_HEADERS.keyMoved]: event.movedKey }),
    },
    ...(event.partition === undefined ? {} : { partition: event.partition }),
  });
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
 * The end of a table's snapshot: one control record per partition of its topic (keyed by kind,
 * table and partition, the partition set), after every row of the snapshot, so each partition's
 * consumer sees where the snapshot's rows end. The `control` header says what it is without decoding.
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
    return built({
      key: controlKey(SNAPSHOT_END, `${facts.schema}.${facts.table}`, partition),
      value,
      partition,
      timestamp: String(facts.nowMs),
      headers: { ...contractHeaders(record.eventId, schema, traceId), [EVENT_HEADERS.control]: SNAPSHOT_END },
    });
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
  /** When the reader read the transaction, ms: the record's timestamp. */
  nowMs: number;
}

/**
 * BEGIN before a transaction's first event, END after its last with the events it produced per
 * table, keyed by their event ids `<system id>:<commit LSN>:BEGIN` and `…:END` (distinct, so a
 * compacted topic keeps both), both written to the partition of `<system id>:<commit LSN>` among
 * `partitions` (murmur2, as a key), so one transaction's records stay in order.
 */
export function transactionRecord(status: 'BEGIN' | 'END', tx: TransactionFacts, traceId: string, partitions: number): BuiltRecord {
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
  const partition = partitionOf('', { key: record.id, value: null }, partitions);
  return built({
    key: eventId,
    value,
    timestamp: String(tx.nowMs),
    headers: contractHeaders(eventId, schema, traceId),
    ...(partition === undefined ? {} : { partition }),
  });
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

/** A change larger than its topic accepts: produced without its largest values, or (if even that fails) not at all. */
export class ChangeTooLargeError extends PipelineError {
  constructor(reason: string) {
    super(reason, { code: 'CHANGE_TOO_LARGE', retriable: false });
    this.name = 'ChangeTooLargeError';
  }
}

/** Where a reader dead letter comes from. */
interface ReaderLetterSource {
  /** `<schema>.<table>`. */
  subject: string;
  /** The topic the change was for. */
  topic: string;
  eventId: string;
  commitLsn: string;
  nowMs: number;
}

/**
 * A reader dead letter: a JSON body keyed by the table, with the same failure headers a
 * consumer's dead letter has (so `pipeline dlq` reads both). It never reached a partition of its
 * topic: partition -1, no offset.
 */
function readerLetter(source: ReaderLetterSource, body: object, error: PipelineError): BuiltRecord {
  const value = JSON.stringify(body, (_key, field) => (typeof field === 'bigint' ? field.toString() : field));
  return built({
    key: source.subject,
    value,
    timestamp: String(source.nowMs),
    headers: {
      [EVENT_HEADERS.eventId]: source.eventId,
      [READER_DLQ_HEADERS.errorMessage]: error.message.slice(0, 1000),
      [READER_DLQ_HEADERS.sourceTable]: source.subject,
      [READER_DLQ_HEADERS.sourceLsn]: source.commitLsn,
      ...failureHeaders({
        originalTopic: source.topic,
        originalPartition: -1,
        originalOffset: '',
        attempt: 1,
        firstFailureAtMs: source.nowMs,
        consumerGroup: READER_SERVICE,
        error,
      }),
    },
  });
}

/** A value longer than this is left out of a dead letter (named with its size), so the letter always fits its topic. */
const LETTER_VALUE_CHARS = 16 * 1024;

export interface DeadLetterInput extends ReaderLetterSource {
  xid: number;
  /** The change as pgoutput delivered it (its relation left out). */
  change: { tag: string } & Record<string, unknown>;
  error: unknown;
}

/** A change the reader could not encode, as a record of its dead-letter topic: the change as JSON, long values left out. */
export function deadLetterRecord(input: DeadLetterInput): BuiltRecord & { reason: string } {
  const reason = input.error instanceof Error ? input.error.message : String(input.error);
  const change = JSON.parse(
    JSON.stringify(input.change, (key, field) =>
      key === 'relation' || key === 'relations'
        ? undefined
        : typeof field === 'bigint'
          ? field.toString()
          : typeof field === 'string' && field.length > LETTER_VALUE_CHARS
            ? `[left out of the dead letter: ${Buffer.byteLength(field)} bytes]`
            : field,
    ),
  ) as unknown;
  const record = readerLetter(
    input,
    { table: input.subject, tag: input.change.tag, commitLsn: input.commitLsn, xid: input.xid, change },
    new UnencodableChangeError(input.subject, reason, input.error),
  );
  return { ...record, reason };
}

export interface TooLargeInput extends ReaderLetterSource {
  op: string;
  /** The message key (the row's key), shortened if long. */
  key: string | null;
  limitBytes: number;
  /** The record's size with every value in it. */
  recordBytes: number;
  /** Columns left out, with their sizes; with `produced` false, every column but the key's. */
  leftOut: readonly { column: string; bytes: number }[];
  /** True when the change went to its topic without those values; false when even that did not fit. */
  produced: boolean;
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(bytes < 10_240 ? 1 : 0)} KiB`;

/** What to do about a change too large for its topic: said in its dead letter and the log. */
export function tooLargeReason(input: TooLargeInput): string {
  const columns = input.leftOut.map((c) => `${c.column} (${kib(c.bytes)})`).join(', ');
  const what = input.produced
    ? `it was produced with ${columns} left out (listed in the event's unavailable columns)`
    : `even without ${columns} it does not fit, so it was not produced: consumers never see this change`;
  return (
    `a change to ${input.subject} (key ${input.key ?? 'none'}, commit LSN ${input.commitLsn}) is ${kib(input.recordBytes)} as a record, ` +
    `over what ${input.topic} accepts (max.message.bytes ${input.limitBytes}): ${what}. To carry such values, raise max.message.bytes ` +
    `of ${input.topic} (and of the consumers' retry and dead-letter topics) and the brokers' replica.fetch.max.bytes, or keep such ` +
    'values out of captured columns (a table of their own, outside the publication); then resolve this letter ' +
    '(`pipeline dlq resolve --service cdc-reader --at P:O`)'
  );
}

/** The dead letter of a change too large for its topic: where it is, what was left out (names and sizes, never values), what to do. */
export function tooLargeRecord(input: TooLargeInput): BuiltRecord & { reason: string } {
  const reason = tooLargeReason(input);
  const record = readerLetter(
    input,
    {
      table: input.subject,
      op: input.op,
      key: input.key === null ? null : input.key.slice(0, 1_000),
      commitLsn: input.commitLsn,
      eventId: input.eventId,
      topic: input.topic,
      limitBytes: input.limitBytes,
      recordBytes: input.recordBytes,
      produced: input.produced,
      leftOut: input.leftOut,
    },
    new ChangeTooLargeError(reason),
  );
  return { ...record, reason };
}
