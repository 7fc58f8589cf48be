import { type Pool, type ProjectionCheckpoint, projectionCheckpoints, type RebuildProgress, rebuildsInProgress } from '@pipeline/db';
import { type Logger, scrapeCache } from '@pipeline/runtime';
import { Counter, Gauge, type Registry } from 'prom-client';

/** The projector's metrics, every labelled series present (at 0) from the start. */
export function projectorMetrics(registry: Registry) {
  const events = new Counter({
    name: 'projection_events_total',
    help: 'Opportunity changes by what they did to the projection: moved (the aggregates), unchanged, older (late copy: transition only), truncated, snapshot_ended (an end of snapshot), skipped (at or below the checkpoint, or seen before)',
    labelNames: ['projection', 'result'],
    registers: [registry],
  });
  const snapshotDropped = new Counter({
    name: 'projection_snapshot_dropped_total',
    help: 'Opportunities removed at the end of a new snapshot because it did not re-read them (deleted while no slot captured changes)',
    labelNames: ['projection'],
    registers: [registry],
  });
  return {
    events,
    snapshotDropped,
    init(projection: string) {
      for (const result of ['moved', 'unchanged', 'older', 'truncated', 'snapshot_ended', 'skipped']) events.inc({ projection, result }, 0);
      snapshotDropped.inc({ projection }, 0);
    },
  };
}

export type ProjectorMetrics = ReturnType<typeof projectorMetrics>;

/**
 * A rebuild of `projection` in progress (`pipeline projection rebuild`, a task process without a
 * port of its own), as it records itself every second: `projection_rebuild_running`,
 * `projection_rebuild_applied_events` of `projection_rebuild_target_events`, and when it last said
 * so. Read on scrape, at most once a second; a database that does not answer leaves the last values.
 */
export function rebuildMetrics(registry: Registry, pool: Pool, projection: string, logger: Logger): void {
  const progress = scrapeCache(
    async () => (await rebuildsInProgress(pool)).find((p) => p.projection === projection),
    1_000,
    (error) => logger.debug({ err: error }, 'could not read the rebuild progress for /metrics'),
  );
  const gauge = (name: string, help: string, value: (progress: RebuildProgress | undefined) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['projection'],
      registers: [registry],
      async collect() {
        this.set({ projection }, value(await progress()));
      },
    });
  gauge('projection_rebuild_running', 'Whether a rebuild of the projection is in progress (1) or not (0)', (p) => (p ? 1 : 0));
  gauge('projection_rebuild_applied_events', 'Events the rebuild in progress has applied to its shadow tables', (p) => p?.done ?? 0);
  gauge('projection_rebuild_target_events', 'Events in the topic when the rebuild in progress started', (p) => p?.total ?? 0);
  gauge(
    'projection_rebuild_updated_timestamp_seconds',
    'When the rebuild in progress last recorded its progress (every second while it runs: one that stops moving died)',
    (p) => (p ? p.updatedAt.getTime() / 1000 : 0),
  );
}

/**
 * Where the projection stands: `projection_position_offset` (the offset of the last message applied)
 * and `projection_updated_timestamp_seconds` per topic and partition, from its checkpoints (committed
 * with the rows they describe), read on scrape at most once a second.
 */
export function positionMetrics(registry: Registry, pool: Pool, projection: string, logger: Logger): void {
  const checkpoints = scrapeCache(
    () => projectionCheckpoints(pool, projection),
    1_000,
    (error) => logger.debug({ err: error }, 'could not read the projection’s checkpoints for /metrics'),
  );
  const gauge = (name: string, help: string, value: (checkpoint: ProjectionCheckpoint) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['projection', 'topic', 'partition'],
      registers: [registry],
      async collect() {
        const read = await checkpoints();
        if (!read) return;
        this.reset();
        for (const c of read) this.set({ projection, topic: c.topic, partition: String(c.partition) }, value(c));
      },
    });
  gauge('projection_position_offset', 'Offset of the last message the projection applied, per partition (its checkpoint)', (c) =>
    Number(c.offset),
  );
  gauge(
    'projection_updated_timestamp_seconds',
    'When the projection last applied a message of the partition, seconds since the epoch',
    (c) => c.updatedAt.getTime() / 1000,
  );
}
