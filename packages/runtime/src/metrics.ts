import { collectDefaultMetrics, Registry } from 'prom-client';

/** One registry per service, with Node's default metrics and a `service` label on every series. */
export function makeMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return registry;
}
