import { traceIdOf, traceparent } from './trace';

describe('trace context', () => {
  it('is a valid W3C traceparent: one trace per transaction, a span per event, stable across redelivery', () => {
    const trace = traceIdOf('7312345678901234567', '0/16B3748');
    const ids = Array.from({ length: 500 }, (_, i) => `7312345678901234567:0/16B3748:${i}`);
    const parents = ids.map((id) => traceparent(trace, id));
    for (const parent of parents) expect(parent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(new Set(parents).size).toBe(ids.length);
    expect(traceparent(trace, ids[7] as string)).toBe(parents[7]);
  });
});
