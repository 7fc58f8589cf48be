import { envelopeSchema, readRowSchema } from '@pipeline/schemas';
import { type FieldKind, fieldKinds } from '../columns';
import type { TxContext } from '../mapper';
import type { RelationInfo } from '../relation';

/** PostgreSQL type OIDs, by what a row schema's field is. */
export const OID = { uuid: 2950, text: 25, int4: 23, numeric: 1700, timestamptz: 1184, jsonb: 3802, bool: 16 } as const;

export const oidOf = (kind: FieldKind): number =>
  kind.logicalType === 'uuid'
    ? OID.uuid
    : kind.logicalType === 'decimal'
      ? OID.numeric
      : kind.logicalType === 'timestamp-micros'
        ? OID.timestamptz
        : kind.logicalType === 'json'
          ? OID.jsonb
          : kind.type === 'int'
            ? OID.int4
            : kind.type === 'boolean'
              ? OID.bool
              : OID.text;

/** A captured table as the reader knows it, from its row schema alone (REPLICA IDENTITY FULL, key `id`). */
export function schemaRelation(subject: string): RelationInfo {
  const fields = fieldKinds(readRowSchema(subject).fields);
  const columns = fields.map((kind) => ({ name: kind.name, typeOid: oidOf(kind) }));
  const [schema = '', table = ''] = subject.split('.');
  return {
    oid: 1,
    schema,
    table,
    subject,
    topic: `cdc.${subject}`,
    columns,
    columnTypes: new Map(columns.map((c) => [c.name, c.typeOid])),
    replicaIdentity: 'full',
    primaryKey: ['id'],
    identityKey: columns.map((c) => c.name),
    fields,
    writer: envelopeSchema(subject),
    unknownColumns: [],
  };
}

/** A transaction's context with fixed values, its ordinals counting from 0. */
export function fixedTx(): TxContext {
  let ordinal = 0;
  return {
    db: 'pipeline',
    systemId: '7312345678901234567',
    commitLsn: '0/16B3748',
    xid: 42,
    commitTs: '2026-11-29T17:35:04.123456Z',
    nowMs: 1_795_973_704_500,
    nextOrdinal: () => ordinal++,
  };
}
