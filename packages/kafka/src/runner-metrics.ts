import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Every outcome `consumer_events_total` counts (`ignored`: a control record not this consumer's). */
export const OUTCOMES = ['processed', 'skipped', 'retried', 'dead_lettered', 'abandoned', 'ignored'] as const;

/** The consumer runner's series; without a registry they are kept but not exposed. */
export function runnerMetrics(registry: Registry | undefined) {
  const registers = registry ? [registry] : [];
  const metrics = {
    outcomes: new Counter({
      name: 'consumer_events_total',
      help: 'Events by outcome: processed, skipped (already done), retried, dead_lettered, abandoned (in flight at shutdown)',
      labelNames: ['outcome'],
      registers,
    }),
    duration: new Histogram({
      name: 'consumer_handle_seconds',
      help: 'Time to decode and handle one event',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    age: new Histogram({
      name: 'consumer_event_age_seconds',
      help: 'From the change’s commit to its handling (end to end)',
      // 1 ms to 10 s, fine around the 100 ms targets, so a p99 read from it is meaningful.
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    }),
    pausedPartitions: new Gauge({
      name: 'consumer_retry_paused_partitions',
      help: 'Retry-topic partitions paused until their next message is due',
      registers,
    }),
    lastProgress: new Gauge({
      name: 'consumer_last_progress_timestamp_seconds',
      help: 'When the consumer last finished a message on this partition (handled, retried or dead-lettered), seconds since the epoch',
      labelNames: ['topic', 'partition'],
      registers,
    }),
    batchSize: new Histogram({
      name: 'consumer_batch_size',
      help: 'Events applied in one batch (handlers that apply batches: a projection)',
      buckets: [1, 5, 10, 25, 50, 100, 250, 500, 1000],
      registers,
    }),
    batchApply: new Histogram({
      name: 'consumer_batch_apply_seconds',
      help: 'Time to decode and apply one batch',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    batchFallbacks: new Counter({
      name: 'consumer_batch_fallbacks_total',
      help: 'Batches handled one message at a time instead, by reason: decode (a message did not decode), apply (the batch apply failed)',
      labelNames: ['reason'],
      registers,
    }),
    outcomeWriteFailures: new Counter({
      name: 'consumer_outcome_write_failures_total',
      help: 'Outcomes that could not be recorded in event_outcomes (the event itself was handled)',
      registers,
    }),
  };
  // A labelled counter has no series until its first inc(): a dead-letter panel would show nothing, not 0.
  for (const outcome of OUTCOMES) metrics.outcomes.inc({ outcome }, 0);
  for (const reason of ['decode', 'apply']) metrics.batchFallbacks.inc({ reason }, 0);
  return metrics;
}

export type RunnerMetrics = ReturnType<typeof runnerMetrics>;
