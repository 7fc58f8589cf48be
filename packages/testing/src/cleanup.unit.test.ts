import { TEST_TOPIC } from './cleanup';

describe('test topic names', () => {
  it.each([
    'cdc_changes_49b3419892.public.orders',
    '_pipeline.schemas.changes_49b3419892',
    '_pipeline.cdc.dlq.crash_0a1b2c3d4e',
    'test.roundtrip_0a1b2c3d4e',
    'svc_0a1b2c3d4e.public.orders',
    '_pipeline.schemas.svc_0a1b2c3d4e',
    'bench_b_0a1b2c3d4e.public.orders',
    '_pipeline.schemas.test_0a1b2c3d4e',
  ])('%s is a test topic', (topic) => {
    expect(TEST_TOPIC.test(topic)).toBe(true);
  });

  it.each([
    'cdc.public.orders',
    '_pipeline.schemas',
    '_pipeline.cdc.dlq',
    'order-processor.retry.1',
    'order-processor.dlq',
    '__consumer_offsets',
  ])('%s is not', (topic) => {
    expect(TEST_TOPIC.test(topic)).toBe(false);
  });
});
