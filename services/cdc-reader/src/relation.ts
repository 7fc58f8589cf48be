import type { ParsedSchema } from '@pipeline/schemas';
import type { FieldKind } from './columns';

/** What the reader knows about one captured table, from the relation message, the catalog and its schema. */
export interface RelationInfo {
  oid: number;
  schema: string;
  table: string;
  /** `<schema>.<table>`: the schema file's name. */
  subject: string;
  topic: string;
  /** Columns as the relation message lists them (name, type OID). */
  columns: readonly { name: string; typeOid: number }[];
  /** Type OID by column name (built once per relation message, read for every value). */
  columnTypes: ReadonlyMap<string, number>;
  replicaIdentity: 'default' | 'nothing' | 'full' | 'index';
  /** The table's primary key from the catalog (the message key); empty when it has none. */
  primaryKey: readonly string[];
  /** Replica identity key columns (every column under FULL): the fallback key without a primary key. */
  identityKey: readonly string[];
  fields: readonly FieldKind[];
  writer: ParsedSchema;
  /** Columns the table has that the schema lacks: skipped, with a warning and a metric. */
  unknownColumns: readonly string[];
}
