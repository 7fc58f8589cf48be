import type { Pool } from '@pipeline/db';
import { type Logger, scrapeCache } from '@pipeline/runtime';
import { queueDepth } from '@pipeline/webhooks';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Per endpoint (the subscription's name): attempts by verdict, failures by class, latency, queue depth. */
export function dispatcherMetrics(registry: Registry, pool: Pool, logger: Logger) {
  const registers = [registry];
  const depth = scrapeCache(
    () => queueDepth(pool),
    1_000,
    (error) => logger.debug({ err: error }, 'could not count the webhook queue for /metrics'),
  );
  new Gauge({
    name: 'webhook_queue_depth',
    help: 'Deliveries waiting per endpoint (pending: due, backing off, or behind an earlier change of the same row)',
    labelNames: ['endpoint'],
    registers,
    async collect() {
      const counted = await depth();
      if (!counted) return;
      this.reset();
      for (const [endpoint, n] of counted) this.set({ endpoint }, n);
    },
  });
  const metrics = {
    attempts: new Counter({
      name: 'webhook_attempts_total',
      help: 'Delivery attempts per endpoint by verdict: delivered, retry, disable (410), dead',
      labelNames: ['endpoint', 'verdict'],
      registers,
    }),
    failures: new Counter({
      name: 'webhook_failures_total',
      help: 'Failed attempts per endpoint by class: 4xx, 5xx, 429, timeout, connection',
      labelNames: ['endpoint', 'class'],
      registers,
    }),
    latency: new Histogram({
      name: 'webhook_request_seconds',
      help: 'Duration of one delivery request per endpoint',
      labelNames: ['endpoint'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    commitToDelivered: new Histogram({
      name: 'webhook_commit_to_delivered_seconds',
      help: 'From the change’s commit to the endpoint’s 2xx',
      labelNames: ['endpoint'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600],
      registers,
    }),
    /** Every verdict and failure class of an endpoint at 0 from its first delivery on, so panels show 0, not nothing. */
    init(endpoint: string): void {
      for (const verdict of ['delivered', 'retry', 'disable', 'dead']) metrics.attempts.inc({ endpoint, verdict }, 0);
      for (const klass of ['4xx', '5xx', '429', 'timeout', 'connection']) metrics.failures.inc({ endpoint, class: klass }, 0);
    },
  };
  return metrics;
}

export type DispatcherMetrics = ReturnType<typeof dispatcherMetrics>;
