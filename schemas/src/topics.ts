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
