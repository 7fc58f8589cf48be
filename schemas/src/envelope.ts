/**
 * The change envelope (docs/architecture.md, "The event contract"), built around a table's row record.
 * Field names follow Debezium's, which Kafka users already know.
 */

export const OPS = ['c', 'u', 'd', 'r', 't'] as const;

const OP_SCHEMA = {
  type: 'enum',
  name: 'Op',
  namespace: 'pipeline.cdc',
  doc: 'c insert, u update, d delete, r snapshot read, t truncate',
  symbols: [...OPS],
};

const SOURCE_SCHEMA = {
  type: 'record',
  name: 'Source',
  namespace: 'pipeline.cdc',
  doc: 'Where and when the change was committed.',
  fields: [
    { name: 'db', type: 'string', doc: 'database name' },
    { name: 'schema', type: 'string' },
    { name: 'table', type: 'string' },
    { name: 'lsn', type: 'string', doc: "commit LSN in PostgreSQL's text form, for example 0/4F52CB8; compare as 64-bit integers" },
    { name: 'txId', type: 'long', doc: 'transaction id (xid), unsigned' },
    { name: 'commitTs', type: { type: 'long', logicalType: 'timestamp-micros' }, doc: 'commit time, microseconds' },
    { name: 'snapshot', type: 'boolean', doc: 'true for rows read by the initial snapshot (op r)' },
  ],
};

export interface RowSchemaJson {
  type: 'record';
  name: string;
  namespace: string;
  doc?: string;
  fields: { name: string; type: unknown; doc?: string; default?: unknown }[];
}

/** `public.orders` → the envelope schema of its topic. */
export function buildEnvelopeSchema(subject: string, row: RowSchemaJson): Record<string, unknown> {
  const rowName = `${row.namespace}.${row.name}`;
  return {
    type: 'record',
    name: 'Envelope',
    namespace: `pipeline.cdc.${subject}`,
    doc: `A committed change to ${subject}, as the cdc-reader emits it. Generated from the row schema: do not edit.`,
    fields: [
      { name: 'op', type: OP_SCHEMA },
      {
        name: 'before',
        type: ['null', row],
        default: null,
        doc: 'the row before the change (updates, deletes; all columns under REPLICA IDENTITY FULL)',
      },
      { name: 'after', type: ['null', rowName], default: null, doc: 'the row after the change (inserts, updates, snapshot reads)' },
      { name: 'source', type: SOURCE_SCHEMA },
      { name: 'eventId', type: 'string', doc: 'deterministic: the same change delivered twice carries the same id' },
      {
        name: 'unavailable',
        type: { type: 'array', items: 'string' },
        default: [],
        doc:
          'columns whose value PostgreSQL did not send, as before.<column> or after.<column>: an unchanged TOASTed value ' +
          'without REPLICA IDENTITY FULL, or the non-key columns of a delete without it. They hold the placeholder ' +
          `${JSON.stringify('__unavailable__')} (text), 0 (numbers), "0" (decimals) or the epoch (timestamps).`,
      },
      { name: 'tsMs', type: { type: 'long', logicalType: 'timestamp-millis' }, doc: 'when the reader produced the event' },
    ],
  };
}
