import { Counter, type Registry } from 'prom-client';

/** The projector's metrics, every labelled series present (at 0) from the start. */
export function projectorMetrics(registry: Registry) {
  const events = new Counter({
    name: 'projection_events_total',
    help: 'Opportunity changes by what they did to the projection: moved (the aggregates), unchanged, older (late copy: transition only), truncated, skipped (at or below the checkpoint, or seen before)',
    labelNames: ['projection', 'result'],
    registers: [registry],
  });
  return {
    events,
    init(projection: string) {
      for (const result of ['moved', 'unchanged', 'older', 'truncated', 'skipped']) events.inc({ projection, result }, 0);
    },
  };
}

export type ProjectorMetrics = ReturnType<typeof projectorMetrics>;
