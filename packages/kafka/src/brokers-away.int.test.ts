import { makeLogger } from '@pipeline/runtime';
import { eventually, privateStack, uniqueName } from '@pipeline/testing';
import { logLevel } from 'kafkajs';
import { makeKafka } from './client';
import { ConsumerRunner } from './runner';
import { ensureTopics } from './topics';

/**
 * A consumer started while its brokers are away (a service restarted during a broker outage)
 * waits for them, not ready and saying why, instead of failing its start: found by the chaos run
 * (issue 27), where the webhook-dispatcher, killed and restarted while the broker was stopped,
 * exited with "the consumer could not start" once kafkajs gave up connecting — a crash loop its
 * supervisor gives up on after five crashes in a minute.
 */
describe('a consumer runner started while the brokers are away', () => {
  const stack = privateStack(['kafka']);

  afterAll(async () => {
    await (await stack).destroy();
  }, 60_000);

  it('waits for them, not ready, then consumes once they are up', async () => {
    const kafkaStack = await stack;
    const brokers = kafkaStack.endpoints.kafkaBrokers;
    // Few retries: without the wait, start() fails within a second or two of kafkajs giving up.
    const kafka = makeKafka(
      { clientId: 'brokers-away', brokers, retry: { retries: 1, initialRetryTime: 100 } },
      makeLogger({ service: 'brokers-away', level: 'silent' }),
      logLevel.NOTHING,
    );
    const topic = uniqueName('test.away');
    const handled: string[] = [];
    const runner = new ConsumerRunner<string>({
      kafka,
      service: uniqueName('away'),
      topics: [topic],
      retry: { delaysMs: [100], jitter: 0 },
      sessionTimeoutMs: 6_000,
      handlerTimeoutMs: 3_000,
      topicPollMs: 200,
      logger: makeLogger({ service: 'brokers-away', level: 'silent' }),
      decode: async (value) => String(value),
      handle: async (event) => {
        handled.push(event);
      },
    });
    let failed: Error | undefined;
    const started = runner.start().catch((error: Error) => {
      failed = error;
    });
    try {
      await eventually('the runner saying it waits for the brokers', async () =>
        /waiting for the Kafka brokers \(creating its topics\)/.test(runner.notReadyReason ?? '') ? true : undefined,
      );
      // Long past kafkajs giving up (one retry of 100 ms): the start is still waiting, not failed.
      await new Promise((resolve) => setTimeout(resolve, 5_000));
      expect(failed).toBeUndefined();
      expect(runner.notReadyReason).toMatch(/waiting for the Kafka brokers/);

      await kafkaStack.up();
      const admin = kafka.admin();
      await admin.connect();
      await ensureTopics(admin, [{ topic, numPartitions: 1, replicationFactor: 1 }]);
      await admin.disconnect();
      const producer = kafka.producer();
      await producer.connect();
      await producer.send({ topic, messages: ['a', 'b', 'c'].map((value) => ({ value })) });
      await producer.disconnect();
      await eventually('every message handled', async () => (handled.length === 3 ? true : undefined), 90_000);
      await started;
      expect(failed).toBeUndefined();
      expect(handled).toEqual(['a', 'b', 'c']);
      expect(runner.notReadyReason).toBeUndefined();
    } finally {
      await runner.stop(0);
    }
  }, 180_000);
});
