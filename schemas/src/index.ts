/**
 * The Avro event contract (ARCHITECTURE.md, "The event contract"). The .avsc files, the
 * single-object codec and schema distribution arrive with the schemas issue; this module names the
 * contract's constants that are already fixed.
 */

/** Topic that carries every writer schema, keyed by fingerprint (compacted). */
export const SCHEMA_TOPIC = '_pipeline.schemas';

/** Default prefix of the per-table topics: `<prefix>.<schema>.<table>`. */
export const DEFAULT_TOPIC_PREFIX = 'cdc';

/** The tables the publication `pipeline` captures. */
export const CAPTURED_TABLES = ['customers', 'orders', 'order_items', 'suppliers', 'inventory', 'opportunities'] as const;

export type CapturedTable = (typeof CAPTURED_TABLES)[number];
