import { makeLogger, PipelineError, UnrecoverableError } from '@pipeline/runtime';
import { eventually, testKafka, testLogLevel, uniqueName } from '@pipeline/testing';
import type { Kafka } from 'kafkajs';
import { ProduceRefusedError } from './refusal';
import { retryTopic } from './retry';
import { ConsumerRunner } from './runner';
import { ensureTopics } from './topics';

/**
 * A retry copy the broker refuses however often it is sent (a keyless record on a compacted retry
 * topic): the consumer stops with an error that ends the service with exit 78, naming the topic and
 * what to do, and leaves the message's offset uncommitted, so once the topic is fixed it is handled.
 */
describe('ConsumerRunner: a retry copy the broker refuses', () => {
  let kafka: Kafka;
  let source: string;
  let group: string;
  const handled: string[] = [];
  let failing = true;
  const runners: ConsumerRunner<string>[] = [];

  const startRunner = async (onFatal: (error: Error) => void) => {
    const runner = new ConsumerRunner<string>({
      kafka,
      service: group,
      topics: [source],
      retry: { delaysMs: [200], jitter: 0 },
      decode: async (value) => String(value),
      handle: async (event) => {
        handled.push(event);
        if (event === 'fails' && failing) throw new PipelineError('downstream is away', { code: 'DOWNSTREAM', retriable: true });
      },
      logger: makeLogger({ service: 'refused-copy-test', level: testLogLevel('silent') }),
      onFatal,
    });
    runners.push(runner);
    await runner.start();
    return runner;
  };

  beforeAll(async () => {
    kafka = testKafka('refused-copy-test');
    source = uniqueName('test.refused.source');
    group = uniqueName('test-refused');
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, [
      { topic: source, numPartitions: 1, replicationFactor: 1 },
      // Made compacted before the runner starts (which then leaves it as it is): keyless copies are refused.
      { topic: retryTopic(group, 1), numPartitions: 1, replicationFactor: 1, configEntries: { 'cleanup.policy': 'compact' } },
    ]);
    await admin.disconnect();
  }, 60_000);

  afterAll(async () => {
    for (const runner of runners) await runner.stop();
  }, 60_000);

  it('stops with exit 78’s error, naming the retry topic; fixed, the message is handled after all', async () => {
    const fatal: Error[] = [];
    const first = await startRunner((error) => fatal.push(error));
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: source, messages: ['before', 'fails', 'after'].map((value) => ({ key: null, value })) });
    const refused = await eventually('the refusal', async () => fatal[0]);
    expect(refused).toBeInstanceOf(ProduceRefusedError);
    expect(refused).toBeInstanceOf(UnrecoverableError);
    expect(refused.message).toBe(
      `Kafka refused the copy of ${source} partition 0 offset 1 for ${retryTopic(group, 1)}: INVALID_RECORD ` +
        '(This record has failed the validation on broker and hence be rejected). Retrying cannot help: the brokers validated the ' +
        'records and refused them: a compacted topic (cleanup.policy=compact) refuses records without a key, and a broker-side ' +
        'validation (a schema or record policy) can refuse others. Check the topic settings (kafka-configs --describe ' +
        '--entity-type topics --entity-name TOPIC); then start the service again',
    );
    expect(first.notReadyReason).toBe(refused.message);
    // Nothing behind it was handled, and its offset was not committed.
    expect(handled).toEqual(['before', 'fails']);
    await first.stop();
    const admin = kafka.admin();
    await admin.connect();
    try {
      const [committed] = await admin.fetchOffsets({ groupId: group, topics: [source] });
      expect(Number(committed?.partitions[0]?.offset)).toBeLessThanOrEqual(1);
      await admin.alterConfigs({
        validateOnly: false,
        resources: [{ type: 2, name: retryTopic(group, 1), configEntries: [{ name: 'cleanup.policy', value: 'delete' }] }],
      });
    } finally {
      await admin.disconnect();
    }

    // The topic fixed and the cause gone: the refused message and everything behind it are handled.
    failing = false;
    const second: Error[] = [];
    await startRunner((error) => second.push(error));
    await eventually('the rest handled', async () => (handled.includes('after') ? true : undefined));
    expect(handled.filter((event) => event === 'fails').length).toBeGreaterThanOrEqual(2);
    expect(second).toEqual([]);
    await producer.disconnect();
  }, 90_000);
});
