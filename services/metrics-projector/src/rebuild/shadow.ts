import type { PoolClient, Queryable } from '@pipeline/db';

/** The projection's tables: rebuilt in a schema of their own, swapped in at the end. */
export const PROJECTION_TABLES = [
  'sales_metrics',
  'sales_metrics_monthly',
  'pipeline_stage_values',
  'stage_transitions',
  'opportunity_projection',
];
/** Where a rebuild builds its tables: the projector's SQL names no schema, so a search_path puts them here. */
export const SHADOW_SCHEMA = 'projection_rebuild';
const RETIRED_SCHEMA = 'projection_retired';

/** The name a rebuild applies under (its checkpoints and processed-events namespace), apart from the live one. */
export const shadowName = (projection: string) => `${projection}__rebuild`;

/** Empty copies of the projection's tables (indexes, defaults, generated columns included); a rebuild that died before is thrown away. */
export async function createShadow(client: Queryable, projection: string): Promise<void> {
  await client.query(`DROP SCHEMA IF EXISTS ${SHADOW_SCHEMA} CASCADE`);
  await client.query(`CREATE SCHEMA ${SHADOW_SCHEMA}`);
  for (const table of PROJECTION_TABLES) {
    await client.query(`CREATE TABLE ${SHADOW_SCHEMA}.${table} (LIKE public.${table} INCLUDING ALL)`);
  }
  await client.query('DELETE FROM projection_checkpoints WHERE projection = $1', [shadowName(projection)]);
  await client.query('DELETE FROM processed_events WHERE consumer = $1', [`projection:${shadowName(projection)}`]);
}

/**
 * Inside the caller's transaction (which holds the projection's exclusive lock): the rebuilt tables
 * replace the live ones, and the rebuild's checkpoints and processed-events namespace become the
 * projection's. Readers see the old tables or the new ones, never half of either.
 */
export async function swapShadow(client: PoolClient, projection: string): Promise<void> {
  await client.query(`DROP SCHEMA IF EXISTS ${RETIRED_SCHEMA} CASCADE`);
  await client.query(`CREATE SCHEMA ${RETIRED_SCHEMA}`);
  for (const table of PROJECTION_TABLES) {
    await client.query(`ALTER TABLE public.${table} SET SCHEMA ${RETIRED_SCHEMA}`);
    await client.query(`ALTER TABLE ${SHADOW_SCHEMA}.${table} SET SCHEMA public`);
  }
  await client.query('DELETE FROM projection_checkpoints WHERE projection = $1', [projection]);
  await client.query('UPDATE projection_checkpoints SET projection = $1 WHERE projection = $2', [projection, shadowName(projection)]);
  await client.query('DELETE FROM processed_events WHERE consumer = $1', [`projection:${projection}`]);
  await client.query('UPDATE processed_events SET consumer = $1 WHERE consumer = $2', [
    `projection:${projection}`,
    `projection:${shadowName(projection)}`,
  ]);
}

/** After the swap committed: the old tables and the empty shadow schema go. */
export async function dropRetired(client: Queryable): Promise<void> {
  await client.query(`DROP SCHEMA IF EXISTS ${RETIRED_SCHEMA} CASCADE`);
  await client.query(`DROP SCHEMA IF EXISTS ${SHADOW_SCHEMA} CASCADE`);
}
