import { Registry } from 'prom-client';
import { OUTCOMES, runnerMetrics } from './runner-metrics';

describe('the consumer runner’s metrics', () => {
  it('show every outcome at 0 before the first event, so a dead-letter panel reads 0 rather than nothing', async () => {
    const registry = new Registry();
    runnerMetrics(registry);
    const text = await registry.getSingleMetricAsString('consumer_events_total');
    for (const outcome of OUTCOMES) expect(text).toContain(`consumer_events_total{outcome="${outcome}"} 0`);
    expect(OUTCOMES).toContain('dead_lettered');
  });

  it('resolve end-to-end latency from 1 ms to 10 s, with a bucket at the 100 ms target', async () => {
    const registry = new Registry();
    runnerMetrics(registry);
    const buckets = [...(await registry.getSingleMetricAsString('consumer_event_age_seconds')).matchAll(/le="([^"]+)"/g)].map((m) => m[1]);
    expect(buckets).toEqual(expect.arrayContaining(['0.001', '0.0025', '0.005', '0.01', '0.1', '1', '10', '+Inf']));
  });
});
