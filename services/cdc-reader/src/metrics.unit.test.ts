import { listSubjects, OPS } from '@pipeline/schemas';
import { Registry } from 'prom-client';
import { RECONNECT_REASONS } from './backoff';
import { makeReaderMetrics } from './metrics';

describe('the reader’s metrics', () => {
  it('show every captured table, operation and reconnect reason at 0 from the start', async () => {
    const registry = new Registry();
    makeReaderMetrics(registry);
    const events = await registry.getSingleMetricAsString('cdc_events_total');
    const deadLetters = await registry.getSingleMetricAsString('cdc_dead_letters_total');
    const reconnects = await registry.getSingleMetricAsString('cdc_reconnects_total');
    expect(listSubjects()).toContain('public.orders');
    for (const table of listSubjects()) {
      for (const op of OPS) expect(events).toContain(`cdc_events_total{table="${table}",op="${op}"} 0`);
      expect(deadLetters).toContain(`cdc_dead_letters_total{table="${table}"} 0`);
    }
    for (const reason of RECONNECT_REASONS) expect(reconnects).toContain(`cdc_reconnects_total{reason="${reason}"} 0`);
  });
});
