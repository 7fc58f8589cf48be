import { type PoolClient, processedNamespace, type Queryable } from '@pipeline/db';

/** The projection's tables: rebuilt in a schema of their own, swapped in at the end. */
export const PROJECTION_TABLES = [
  'sales_metrics',
  'sales_metrics_monthly',
  'pipeline_stage_values',
  'stage_transitions',
  'opportunity_projection',
  'opportunity_projection_floors',
];
/** Where a rebuild builds its tables: the projector's SQL names no schema, so a search_path puts them here. */
export const SHADOW_SCHEMA = 'projection_rebuild';
const RETIRED_SCHEMA = 'projection_retired';

/** The name a rebuild applies under (its checkpoints and processed-events namespace), apart from the live one. */
export const shadowName = (projection: string) => `${projection}__rebuild`;

/**
 * Empty copies of the projection's tables (indexes, defaults, generated columns included), and a
 * processed-events namespace of the rebuild's own (`projection:<name>#<started>`); what a rebuild
 * that died before left is thrown away. The copies' non-unique indexes are left out while the
 * rebuild fills them (every write would update them; most rows are rewritten several times):
 * returns their definitions for `buildDeferredIndexes`, which the rebuild runs before its swap.
 */
export async function createShadow(client: Queryable, projection: string, startedMs: number): Promise<string[]> {
  const shadow = shadowName(projection);
  await client.query(`DROP SCHEMA IF EXISTS ${SHADOW_SCHEMA} CASCADE`);
  await client.query(`CREATE SCHEMA ${SHADOW_SCHEMA}`);
  for (const table of PROJECTION_TABLES) {
    await client.query(`CREATE TABLE ${SHADOW_SCHEMA}.${table} (LIKE public.${table} INCLUDING ALL)`);
  }
  const deferred = await deferIndexes(client);
  await client.query('DELETE FROM projection_checkpoints WHERE projection = $1', [shadow]);
  const { rows } = await client.query<{ namespace: string }>(
    'DELETE FROM projection_namespaces WHERE projection = $1 RETURNING namespace',
    [shadow],
  );
  await retireNamespace(client, rows[0]?.namespace ?? `projection:${shadow}`);
  await client.query('INSERT INTO projection_namespaces (projection, namespace) VALUES ($1, $2)', [
    shadow,
    `projection:${projection}#${startedMs}`,
  ]);
  return deferred;
}

/** Drops the shadow tables' non-unique indexes (unique ones decide conflicts, so they stay); returns how to build them again. */
async function deferIndexes(client: Queryable): Promise<string[]> {
  const { rows } = await client.query<{ name: string; definition: string }>(
    `SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS definition
       FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
      WHERE n.nspname = $1 AND NOT i.indisunique ORDER BY 1`,
    [SHADOW_SCHEMA],
  );
  for (const { name } of rows) await client.query(`DROP INDEX ${name}`);
  return rows.map((row) => row.definition);
}

/** Builds the indexes `createShadow` deferred; batches still arriving wait for each (it is built from rows already there). */
export async function buildDeferredIndexes(client: Queryable, definitions: readonly string[]): Promise<void> {
  for (const definition of definitions) await client.query(definition);
}

/**
 * Inside the caller's transaction (which holds the projection's exclusive lock): the rebuilt tables
 * replace the live ones, and the rebuild's checkpoints and processed-events namespace become the
 * projection's (one row of `projection_namespaces`, however many events). Readers see the old
 * tables or the new ones, never half of either. Returns the namespace retired: delete its rows
 * (`retireNamespace`) once the swap committed.
 */
export async function swapShadow(client: PoolClient, projection: string): Promise<string> {
  const shadow = shadowName(projection);
  const retired = await processedNamespace(client, projection);
  const rebuilt = await processedNamespace(client, shadow);
  await client.query(`DROP SCHEMA IF EXISTS ${RETIRED_SCHEMA} CASCADE`);
  await client.query(`CREATE SCHEMA ${RETIRED_SCHEMA}`);
  for (const table of PROJECTION_TABLES) {
    await client.query(`ALTER TABLE public.${table} SET SCHEMA ${RETIRED_SCHEMA}`);
    await client.query(`ALTER TABLE ${SHADOW_SCHEMA}.${table} SET SCHEMA public`);
  }
  await client.query('DELETE FROM projection_checkpoints WHERE projection = $1', [projection]);
  await client.query('UPDATE projection_checkpoints SET projection = $1 WHERE projection = $2', [projection, shadow]);
  await client.query('DELETE FROM projection_namespaces WHERE projection = $1', [shadow]);
  await client.query(
    `INSERT INTO projection_namespaces (projection, namespace) VALUES ($1, $2)
     ON CONFLICT (projection) DO UPDATE SET namespace = EXCLUDED.namespace, updated_at = now()`,
    [projection, rebuilt],
  );
  return retired;
}

/** Deletes a namespace's processed events, a slice at a time (after a swap, outside its lock). */
export async function retireNamespace(client: Queryable, namespace: string): Promise<number> {
  let deleted = 0;
  for (;;) {
    const { rowCount } = await client.query(
      `DELETE FROM processed_events WHERE (consumer, event_id) IN (SELECT consumer, event_id FROM processed_events WHERE consumer = $1 LIMIT 50000)`,
      [namespace],
    );
    deleted += rowCount ?? 0;
    if (!rowCount) return deleted;
  }
}

/** After the swap committed: the old tables and the empty shadow schema go. */
export async function dropRetired(client: Queryable): Promise<void> {
  await client.query(`DROP SCHEMA IF EXISTS ${RETIRED_SCHEMA} CASCADE`);
  await client.query(`DROP SCHEMA IF EXISTS ${SHADOW_SCHEMA} CASCADE`);
}
