/**
 * The Avro event contract (docs/architecture.md, "The event contract"): row and envelope schemas,
 * their TypeScript types, the single-object codec, and schema distribution over Kafka.
 */
export * from './avro';
export * from './canonical';
export * from './catalog';
export * from './change';
export * from './codec';
export * from './compat';
export * from './decimal';
export * from './distribution';
export * from './drift';
export * from './envelope';
export * from './envelope-decoder';
export * from './errors';
export * from './files';
export * from './fingerprint';
export * from './fixtures';
export type * from './generated/types';
export * from './logical-types';
export * from './timestamp';
export * from './transaction';
export * from './validate';

/** Default prefix of the per-table topics: `<prefix>.<schema>.<table>`. */
export const DEFAULT_TOPIC_PREFIX = 'cdc';

/** The topic of a captured table's changes: `<prefix>.<schema>.<table>` (subject `<schema>.<table>`). */
export function cdcTopic(prefix: string, subject: string): string {
  return `${prefix}.${subject}`;
}

/** The tables the publication `pipeline` captures. */
export const CAPTURED_TABLES = ['customers', 'orders', 'order_items', 'suppliers', 'inventory', 'opportunities'] as const;

export type CapturedTable = (typeof CAPTURED_TABLES)[number];
export * from './codegen';
export * from './generate';
export * from './release';
