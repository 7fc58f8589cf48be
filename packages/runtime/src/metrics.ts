import { collectDefaultMetrics, Registry } from 'prom-client';

/** One registry per service, with Node's default metrics and a `service` label on every series. */
export function makeMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return registry;
}

/**
 * A value read on scrape (a count or a row from the database), at most once per `refreshMs`:
 * concurrent scrapes share one read, and a read that fails keeps the last value (`onError` is told).
 */
export function scrapeCache<T>(read: () => Promise<T>, refreshMs: number, onError: (error: unknown) => void): () => Promise<T | undefined> {
  let last: { at: number; value: T } | undefined;
  let reading: Promise<void> | undefined;
  return async () => {
    if (last && Date.now() - last.at < refreshMs) return last.value;
    reading ??= (async () => {
      try {
        last = { at: Date.now(), value: await read() };
      } catch (error) {
        onError(error);
      } finally {
        reading = undefined;
      }
    })();
    await reading;
    return last?.value;
  };
}
