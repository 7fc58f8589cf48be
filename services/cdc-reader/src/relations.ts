import type { Queryable } from '@pipeline/db';
import type { Logger } from '@pipeline/runtime';
import { cdcTopic, type ParsedSchema, readRowSchema } from '@pipeline/schemas';
import type { Pgoutput } from 'pg-logical-replication';
import { primaryKeyColumns } from './catalog';
import { type FieldKind, fieldKinds } from './columns';
import type { ReaderMetrics } from './metrics';
import type { RelationInfo } from './relation';

export interface RelationRegistryOptions {
  db: Queryable;
  topicPrefix: string;
  /** Writer schema of each subject (`public.orders`). */
  writers: ReadonlyMap<string, ParsedSchema>;
  logger: Logger;
  metrics: ReaderMetrics;
}

/** The relation cache: what the reader knows of each table, rebuilt whenever PostgreSQL sends a relation message. */
export class RelationRegistry {
  private readonly byOid = new Map<number, RelationInfo>();
  private readonly fields = new Map<string, readonly FieldKind[]>();

  constructor(private readonly options: RelationRegistryOptions) {}

  async update(message: Pgoutput.MessageRelation): Promise<RelationInfo> {
    const info = await this.build(this.options.db, {
      oid: message.relationOid,
      schema: message.schema,
      table: message.name,
      columns: message.columns.map((c) => ({ name: c.name, typeOid: c.typeOid })),
      replicaIdentity: message.replicaIdentity,
      identityKey: message.keyColumns,
    });
    this.byOid.set(message.relationOid, info);
    return info;
  }

  /** A captured table from the catalog, as the initial snapshot reads it (no relation message there). */
  async fromCatalog(db: Queryable, table: { oid: number; schema: string; table: string }): Promise<RelationInfo> {
    const { rows } = await db.query<{ name: string; type_oid: number }>(
      `SELECT attname AS name, atttypid::int AS type_oid FROM pg_attribute
        WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
      [table.oid],
    );
    return this.build(db, {
      ...table,
      columns: rows.map((r) => ({ name: r.name, typeOid: r.type_oid })),
      replicaIdentity: 'default',
      identityKey: [],
    });
  }

  private async build(
    db: Queryable,
    source: Pick<RelationInfo, 'oid' | 'schema' | 'table' | 'columns' | 'replicaIdentity' | 'identityKey'>,
  ): Promise<RelationInfo> {
    const subject = `${source.schema}.${source.table}`;
    const writer = this.options.writers.get(subject);
    if (!writer) {
      throw new Error(
        `${subject} is in the publication but has no schema (schemas/avro/rows/${subject}.avsc): add one, ` +
          'or remove the table from the publication; the reader waits rather than drop its changes',
      );
    }
    let fields = this.fields.get(subject);
    if (!fields) {
      fields = fieldKinds(readRowSchema(subject).fields);
      this.fields.set(subject, fields);
    }
    const known = new Set(fields.map((f) => f.name));
    const unknownColumns = source.columns.map((c) => c.name).filter((name) => !known.has(name));
    const previous = this.byOid.get(source.oid);
    for (const column of unknownColumns) {
      if (previous?.unknownColumns.includes(column)) continue;
      this.options.logger.warn(
        { table: subject, column },
        `column ${column} of ${subject} is not in its schema: it is skipped until schemas/avro/rows/${subject}.avsc has it`,
      );
    }
    return {
      ...source,
      subject,
      topic: cdcTopic(this.options.topicPrefix, subject),
      columnTypes: new Map(source.columns.map((c) => [c.name, c.typeOid])),
      primaryKey: await primaryKeyColumns(db, source.oid),
      fields,
      writer,
      unknownColumns,
    };
  }

  /** Every writer schema the reader may use (published before streaming). */
  writers(): Iterable<ParsedSchema> {
    return this.options.writers.values();
  }

  /** The relation of a row message; PostgreSQL always sends the relation first in a session. */
  get(oid: number): RelationInfo {
    const info = this.byOid.get(oid);
    if (!info) throw new Error(`row for relation ${oid} before its relation message`);
    return info;
  }

  /** Counts each skipped column once per change, so the metric shows how much is being dropped. */
  countUnknown(info: RelationInfo): void {
    for (const column of info.unknownColumns) this.options.metrics.unknownColumns.inc({ table: info.subject, column });
  }
}
