import { Counter, type Registry } from 'prom-client';

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
