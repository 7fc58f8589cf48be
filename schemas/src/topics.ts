/**
 * Names of the contract (docs/architecture.md, "The event contract"): topics and headers, defined
 * once here and used by the reader, the consumers and the tools.
 */

/** Default prefix of the per-table topics: `<prefix>.<schema>.<table>`. */
export const DEFAULT_TOPIC_PREFIX = 'cdc';

/** The topic of a captured table's changes: `<prefix>.<schema>.<table>` (subject `<schema>.<table>`). */
export function cdcTopic(prefix: string, subject: string): string {
  return `${prefix}.${subject}`;
}

/** The compacted topic that carries every writer schema, keyed by fingerprint (hex). */
export const SCHEMA_TOPIC = '_pipeline.schemas';

/** Headers every change record carries. */
export const EVENT_HEADERS = {
  /** The envelope's eventId, readable without decoding. */
  eventId: 'event-id',
  /** Hex CRC-64-AVRO fingerprint of the writer schema. */
  schemaFingerprint: 'schema-fingerprint',
  /** W3C trace context: one trace per transaction. */
  traceparent: 'traceparent',
  /** On the two records of a primary-key change: the other key of the pair. */
  keyMoved: 'key-moved',
  /** On a control record, what it is (`snapshot-end`); absent on changes. */
  control: 'control',
} as const;

/** The tables the publication `pipeline` captures. */
export const CAPTURED_TABLES = ['customers', 'orders', 'order_items', 'suppliers', 'inventory', 'opportunities'] as const;

export type CapturedTable = (typeof CAPTURED_TABLES)[number];

/** Control records of a table's topic: a truncate, the end of a snapshot. */
export type ControlKind = 'truncate' | 'snapshot-end';

/** What every control record's key begins with; a row key never should (a text primary key taking such values would share compaction with them). */
export const CONTROL_KEY_PREFIX = '__control:';

/**
 * The key of a control record: `__control:<kind>:<schema>.<table>:<partition>`, one per kind, table
 * and partition, so a compacted topic keeps the latest of each (and never confuses it with a row's).
 * Consumers recognise control records by schema and op, not by key.
 */
export function controlKey(kind: ControlKind, subject: string, partition: number): string {
  return `${CONTROL_KEY_PREFIX}${kind}:${subject}:${partition}`;
}
