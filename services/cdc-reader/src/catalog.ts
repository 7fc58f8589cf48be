import type { Queryable } from '@pipeline/db';
/** A table the publication captures. */
export interface PublishedTable {
  oid: number;
  schema: string;
  table: string;
}

export async function publicationExists(db: Queryable, publication: string): Promise<boolean> {
  const { rows } = await db.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [publication]);
  return rows.length > 0;
}

export async function publishedTables(db: Queryable, publication: string): Promise<PublishedTable[]> {
  const { rows } = await db.query<{ oid: number; schema: string; table: string }>(
    `SELECT c.oid::int AS oid, pt.schemaname AS schema, pt.tablename AS table
       FROM pg_publication_tables pt
       JOIN pg_namespace n ON n.nspname = pt.schemaname
       JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = pt.tablename
      WHERE pt.pubname = $1
      ORDER BY 2, 3`,
    [publication],
  );
  return rows;
}

/**
 * Published tables without any key: no primary key, and a replica identity of DEFAULT (which then
 * has no columns), NOTHING, or an index that no longer exists. Their changes cannot be compacted.
 * As `<schema>.<table>`.
 */
export async function keylessTables(db: Queryable, publication: string): Promise<string[]> {
  const { rows } = await db.query<{ subject: string }>(
    `SELECT pt.schemaname || '.' || pt.tablename AS subject
       FROM pg_publication_tables pt
       JOIN pg_namespace n ON n.nspname = pt.schemaname
       JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = pt.tablename
      WHERE pt.pubname = $1
        AND c.relreplident <> 'f'
        AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND (i.indisprimary OR (c.relreplident = 'i' AND i.indisreplident)))
      ORDER BY 1`,
    [publication],
  );
  return rows.map((row) => row.subject);
}

/** The primary key's columns in key order (not the replica identity's, which is every column under FULL). */
export async function primaryKeyColumns(db: Queryable, relationOid: number): Promise<string[]> {
  const { rows } = await db.query<{ name: string }>(
    `SELECT a.attname AS name
       FROM pg_index i
       JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, position) ON true
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
      WHERE i.indrelid = $1 AND i.indisprimary
      ORDER BY k.position`,
    [relationOid],
  );
  return rows.map((row) => row.name);
}

/** The database's system identifier: with the commit LSN it makes event ids unique across databases. */
export async function systemIdentifier(db: Queryable): Promise<{ systemId: string; database: string }> {
  const { rows } = await db.query<{ system_id: string; database: string }>(
    'SELECT system_identifier::text AS system_id, current_database() AS database FROM pg_control_system()',
  );
  const row = rows[0];
  if (!row) throw new Error('pg_control_system() returned nothing');
  return { systemId: row.system_id, database: row.database };
}
