import { type ParsedSchema, parseSchema } from './avro';

/**
 * BEGIN and END of a captured transaction, on the optional `<prefix>.transactions` topic (keyed
 * by `id`). Every event already carries its commit LSN, xid, commit time and ordinal; this adds
 * where a transaction starts and ends and how many events it produced per table, so a consumer
 * can tell when it has seen all of one.
 */
export const TRANSACTION_SCHEMA_JSON = {
  type: 'record',
  name: 'Transaction',
  namespace: 'pipeline.cdc',
  doc: 'BEGIN and END of a captured transaction.',
  fields: [
    { name: 'status', type: { type: 'enum', name: 'TransactionStatus', symbols: ['BEGIN', 'END'] } },
    { name: 'id', type: 'string', doc: '<system id>:<commit LSN>: the prefix of the ids of its events' },
    { name: 'txId', type: 'long', doc: 'transaction id (xid), unsigned' },
    { name: 'lsn', type: 'string', doc: "commit LSN in PostgreSQL's text form" },
    { name: 'commitTs', type: { type: 'long', logicalType: 'timestamp-micros' }, doc: 'commit time, microseconds' },
    { name: 'eventCount', type: 'long', doc: 'END: events the transaction produced; BEGIN: 0' },
    {
      name: 'dataCollections',
      type: {
        type: 'array',
        items: {
          type: 'record',
          name: 'TableEventCount',
          fields: [
            { name: 'table', type: 'string', doc: '<schema>.<table>' },
            { name: 'eventCount', type: 'long' },
          ],
        },
      },
      doc: 'END: events per table; BEGIN: empty',
    },
  ],
} as const;

export interface TransactionRecord {
  status: 'BEGIN' | 'END';
  id: string;
  txId: number;
  lsn: string;
  /** RFC 3339 UTC with microseconds. */
  commitTs: string;
  eventCount: number;
  dataCollections: { table: string; eventCount: number }[];
}

let parsed: ParsedSchema | undefined;

/** The transaction record's schema (parsed once). */
export function transactionSchema(): ParsedSchema {
  parsed ??= parseSchema(TRANSACTION_SCHEMA_JSON);
  return parsed;
}
