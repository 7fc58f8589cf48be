import { makeLogger } from '@pipeline/runtime';
import { eventually, testKafka, testLogLevel, uniqueName } from '@pipeline/testing';
import { Registry } from 'prom-client';
import { groupLagMetrics } from './group-lag';
import { ensureTopics } from './topics';

/** The lag a scrape reads from the broker, by partition. */
async function scrapeLag(registry: Registry, metric: string): Promise<Record<string, number>> {
  const { values } = await (registry.getSingleMetric(metric) as NonNullable<ReturnType<Registry['getSingleMetric']>>).get();
  return Object.fromEntries(values.map((v) => [String(v.labels.partition), v.value]));
}

describe('consumer group lag read from the broker', () => {
  const kafka = testKafka('test-group-lag');
  const admin = kafka.admin();
  const producer = kafka.producer();
  const topic = uniqueName('test.group_lag');
  const group = uniqueName('test-group-lag');

  beforeAll(async () => {
    await Promise.all([admin.connect(), producer.connect()]);
    await ensureTopics(admin, [{ topic, numPartitions: 2, replicationFactor: 1 }]);
  });
  afterAll(async () => {
    await Promise.all([admin.disconnect(), producer.disconnect()]);
  });

  it('grows while the group commits nothing (a stalled consumer), and follows its commits', async () => {
    const registry = new Registry();
    const lag = groupLagMetrics({
      registry,
      kafka,
      group,
      topics: [topic],
      logger: makeLogger({ service: 'test', level: testLogLevel('silent') }),
      refreshMs: 0,
    });
    try {
      await producer.send({ topic, messages: [0, 1, 2].map((i) => ({ value: `m${i}`, partition: 0 })) });
      // A read that fails (the new topic's metadata not everywhere yet) leaves the series out: the next scrape reads again.
      await eventually('a first read of the lag', async () => {
        const read = await scrapeLag(registry, 'consumer_group_lag');
        return Object.keys(read).length > 0 ? read : undefined;
      });
      expect(await scrapeLag(registry, 'consumer_group_lag')).toEqual({ '0': 3, '1': 0 });
      expect(await scrapeLag(registry, 'consumer_group_committed_offset')).toEqual({ '0': -1, '1': -1 });

      // Nothing consumes: the next scrape sees more behind, though no consumer reported anything.
      await producer.send({
        topic,
        messages: [
          { value: 'm3', partition: 0 },
          { value: 'm4', partition: 1 },
        ],
      });
      expect(await scrapeLag(registry, 'consumer_group_lag')).toEqual({ '0': 4, '1': 1 });

      await admin.setOffsets({ groupId: group, topic, partitions: [{ partition: 0, offset: '3' }] });
      expect(await scrapeLag(registry, 'consumer_group_lag')).toEqual({ '0': 1, '1': 1 });
      expect(await scrapeLag(registry, 'consumer_group_committed_offset')).toEqual({ '0': 3, '1': -1 });
    } finally {
      await lag.close();
    }
  });
});
