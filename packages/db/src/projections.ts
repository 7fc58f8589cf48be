import type { Queryable } from './pool';

/** One partition a projection has applied, as `projection_checkpoints` holds it. */
export interface ProjectionCheckpoint {
  projection: string;
  group: string | null;
  topic: string;
  partition: number;
  /** The offset of the last message applied. */
  offset: string;
  updatedAt: Date;
}

/** Every projection's checkpoints (or one projection's), by projection, topic and partition. */
export async function projectionCheckpoints(client: Queryable, projection?: string): Promise<ProjectionCheckpoint[]> {
  const { rows } = await client.query<{
    projection: string;
    consumer_group: string | null;
    topic: string;
    partition: number;
    offset: string;
    updated_at: Date;
  }>(
    `SELECT projection, consumer_group, topic, "partition", "offset"::text AS offset, updated_at FROM projection_checkpoints
      WHERE $1::text IS NULL OR projection = $1 ORDER BY projection, topic, "partition"`,
    [projection ?? null],
  );
  return rows.map((row) => ({
    projection: row.projection,
    group: row.consumer_group,
    topic: row.topic,
    partition: row.partition,
    offset: row.offset,
    updatedAt: row.updated_at,
  }));
}

/** The last rebuild of each projection: when it finished, from how many events, how long it took. */
export async function lastRebuilds(client: Queryable): Promise<Map<string, { finishedAt: Date; events: number; seconds: number }>> {
  const { rows } = await client.query<{ projection: string; finished_at: Date; events: string; seconds: number }>(
    `SELECT DISTINCT ON (projection) projection, finished_at, events::text AS events, seconds FROM projection_rebuilds
      ORDER BY projection, finished_at DESC`,
  );
  return new Map(rows.map((row) => [row.projection, { finishedAt: row.finished_at, events: Number(row.events), seconds: row.seconds }]));
}

/** A rebuild in progress, as it last said (every second). */
export interface RebuildProgress {
  projection: string;
  startedAt: Date;
  done: number;
  total: number;
  updatedAt: Date;
}

/** Records where a rebuild stands (`projection_rebuild_progress`). */
export async function recordRebuildProgress(
  client: Queryable,
  progress: { projection: string; startedAt: Date; done: number; total: number },
): Promise<void> {
  await client.query(
    `INSERT INTO projection_rebuild_progress (projection, started_at, events_done, events_total) VALUES ($1, $2, $3, $4)
     ON CONFLICT (projection) DO UPDATE SET started_at = EXCLUDED.started_at, events_done = EXCLUDED.events_done,
       events_total = EXCLUDED.events_total, updated_at = now()`,
    [progress.projection, progress.startedAt, progress.done, progress.total],
  );
}

/** The rebuild ended (swapped in or failed): it is no longer in progress. */
export async function endRebuildProgress(client: Queryable, projection: string): Promise<void> {
  await client.query('DELETE FROM projection_rebuild_progress WHERE projection = $1', [projection]);
}

/** Every rebuild in progress. */
export async function rebuildsInProgress(client: Queryable): Promise<RebuildProgress[]> {
  const { rows } = await client.query<{
    projection: string;
    started_at: Date;
    events_done: string;
    events_total: string;
    updated_at: Date;
  }>(
    'SELECT projection, started_at, events_done::text, events_total::text, updated_at FROM projection_rebuild_progress ORDER BY projection',
  );
  return rows.map((row) => ({
    projection: row.projection,
    startedAt: row.started_at,
    done: Number(row.events_done),
    total: Number(row.events_total),
    updatedAt: row.updated_at,
  }));
}
