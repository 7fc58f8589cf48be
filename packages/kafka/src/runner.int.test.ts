import { makeLogger, PipelineError } from '@pipeline/runtime';
import { eventually, testKafka, testLogLevel, uniqueName } from '@pipeline/testing';
import type { Kafka } from 'kafkajs';
import { Registry } from 'prom-client';
import { FAILURE_HEADERS } from './retry';
import { ConsumerRunner } from './runner';
import { ensureTopics } from './topics';

interface TestEvent {
  id: string;
}

/** JSON events; bytes that are not JSON cannot be decoded, whatever the retries. */
async function decode(value: Buffer | null): Promise<TestEvent> {
  try {
    return JSON.parse(String(value)) as TestEvent;
  } catch (error) {
    throw new PipelineError(`not JSON: ${String(value).slice(0, 20)}`, { code: 'UNDECODABLE', retriable: false, cause: error });
  }
}

async function readAll(kafka: Kafka, topic: string, count: number): Promise<{ value: string; headers: Record<string, string> }[]> {
  const consumer = kafka.consumer({ groupId: uniqueName('test-read') });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const out: { value: string; headers: Record<string, string> }[] = [];
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async ({ message }) => {
        out.push({
          value: String(message.value),
          headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])),
        });
        if (out.length >= count) resolve();
      },
    });
  });
  await consumer.disconnect();
  return out;
}

describe('ConsumerRunner: retry topics and the dead-letter topic', () => {
  let kafka: Kafka;
  let source: string;
  let service: string;
  let runner: ConsumerRunner<TestEvent>;
  const handled: { id: string; attempt: number; at: number }[] = [];
  const registry = new Registry();
  const outcomes: { outcome: string; eventId?: string; attempt: number }[] = [];
  // The schema is published just after the first record that uses it is read.
  let unknownDecodes = 0;

  beforeAll(async () => {
    kafka = testKafka('runner-test');
    source = uniqueName('test.runner.source');
    service = uniqueName('test-runner-svc');
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, [{ topic: source, numPartitions: 1, replicationFactor: 1 }]);
    await admin.disconnect();
    runner = new ConsumerRunner<TestEvent>({
      kafka,
      service,
      topics: [source],
      retry: { delaysMs: [1_000, 300], jitter: 0 },
      decode: async (value) => {
        const event = await decode(value);
        if (event.id === 'unknown-schema' && unknownDecodes++ === 0) {
          throw new PipelineError('unknown schema fingerprint 0123456789abcdef', { code: 'SCHEMA_UNKNOWN', retriable: true });
        }
        return event;
      },
      handle: async (event, context) => {
        handled.push({ id: event.id, attempt: context.attempt, at: Date.now() });
        if (event.id === 'poison') throw new PipelineError('downstream keeps failing', { code: 'DOWNSTREAM', retriable: true });
        if (event.id === 'invalid') throw new PipelineError('order has no customer', { code: 'INVALID', retriable: false });
      },
      logger: makeLogger({ service: 'runner-test', level: testLogLevel('silent') }),
      registry,
      onOutcome: (outcome, context) => {
        outcomes.push({ outcome, attempt: context.attempt, ...(context.eventId ? { eventId: context.eventId } : {}) });
      },
    });
    await runner.start();
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: source,
      messages: [
        { key: 'k', value: JSON.stringify({ id: 'poison' }), headers: { 'event-id': 'e-poison' } },
        ...['a', 'b', 'c', 'd'].map((id) => ({ key: 'k', value: JSON.stringify({ id }) })),
        { key: 'k', value: 'garbage bytes \u0000\u0001' },
        { key: 'k', value: JSON.stringify({ id: 'invalid' }) },
        { key: 'k', value: JSON.stringify({ id: 'unknown-schema' }) },
        { key: 'k', value: JSON.stringify({ id: 'after' }) },
      ],
    });
    await producer.disconnect();
  }, 60_000);

  afterAll(async () => {
    await runner.stop();
  });

  it('retries a poison message on the ladder without blocking the partition, then dead-letters it with every header', async () => {
    const letters = await readAll(kafka, `${service}.dlq`, 3);
    const poison = letters.find((l) => l.value.includes('poison'));
    expect(poison?.headers).toMatchObject({
      'event-id': 'e-poison',
      [FAILURE_HEADERS.originalTopic]: source,
      [FAILURE_HEADERS.originalPartition]: '0',
      [FAILURE_HEADERS.originalOffset]: '0',
      [FAILURE_HEADERS.attempt]: '3',
      [FAILURE_HEADERS.consumerGroup]: service,
      [FAILURE_HEADERS.errorName]: 'PipelineError',
      [FAILURE_HEADERS.errorCode]: 'DOWNSTREAM',
      [FAILURE_HEADERS.errorMessage]: 'downstream keeps failing',
    });
    expect(Number(poison?.headers[FAILURE_HEADERS.firstFailureAtMs])).toBeGreaterThan(0);
    expect(poison?.headers[FAILURE_HEADERS.errorStack]).toContain('downstream keeps failing');
    const attempts = handled.filter((h) => h.id === 'poison');
    expect(attempts.map((h) => h.attempt)).toEqual([1, 2, 3]);
    // Everything behind it on the partition was handled before its second attempt.
    const second = attempts[1]?.at ?? 0;
    for (const id of ['a', 'b', 'c', 'd', 'after'])
      expect([id, (handled.find((h) => h.id === id)?.at ?? Infinity) <= second]).toEqual([id, true]);
    // The ladder's first delay (1 s, generous so a loaded machine still handles the rest first) was respected.
    expect((attempts[1]?.at ?? 0) - (attempts[0]?.at ?? 0)).toBeGreaterThanOrEqual(900);
    // Every outcome was reported with the event id, and counted.
    expect(outcomes.filter((o) => o.eventId === 'e-poison')).toEqual([
      { outcome: 'retried', attempt: 1, eventId: 'e-poison' },
      { outcome: 'retried', attempt: 2, eventId: 'e-poison' },
      { outcome: 'dead_lettered', attempt: 3, eventId: 'e-poison' },
    ]);
    const counted = await registry.getSingleMetricAsString('consumer_events_total');
    expect(counted).toContain('consumer_events_total{outcome="dead_lettered"} 3');
    // The lag comes from the broker's committed and log-end offsets: 0 once the batch's offsets are committed.
    const lag = await eventually('the broker-side lag to reach 0', async () => {
      const text = await registry.getSingleMetricAsString('consumer_group_lag');
      return / 0$/m.test(text) ? text : undefined;
    });
    expect(lag).toMatch(new RegExp(`consumer_group_lag\\{group="${service}",topic="test\\.runner\\.source_[0-9a-f]+",partition="0"\\} 0`));
  }, 60_000);

  it('sends garbage bytes and an invalid event to the dead-letter topic at once, and keeps going', async () => {
    const letters = await readAll(kafka, `${service}.dlq`, 3);
    const garbage = letters.find((l) => l.value.startsWith('garbage'));
    expect(garbage?.headers).toMatchObject({ [FAILURE_HEADERS.attempt]: '1', [FAILURE_HEADERS.errorCode]: 'UNDECODABLE' });
    expect(garbage?.headers[FAILURE_HEADERS.errorMessage]).toMatch(/^not JSON: garbage bytes/);
    const invalid = letters.find((l) => l.value.includes('invalid'));
    expect(invalid?.headers).toMatchObject({ [FAILURE_HEADERS.attempt]: '1', [FAILURE_HEADERS.errorMessage]: 'order has no customer' });
    expect(handled.some((h) => h.id === 'after')).toBe(true);
  }, 60_000);

  it('retries an unknown schema fingerprint, which succeeds once the schema has arrived', async () => {
    const deadline = Date.now() + 20_000;
    while (!handled.some((h) => h.id === 'unknown-schema') && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 100));
    expect(handled.filter((h) => h.id === 'unknown-schema').map((h) => h.attempt)).toEqual([2]);
    const letters = await readAll(kafka, `${service}.dlq`, 3);
    expect(letters.some((l) => l.value.includes('unknown-schema'))).toBe(false);
  }, 30_000);
});

describe('ConsumerRunner: deadlines and pauses', () => {
  const logger = makeLogger({ service: 'runner-test', level: testLogLevel('silent') });

  async function sourceWith(kafka: Kafka, values: string[]): Promise<string> {
    const topic = uniqueName('test.runner.source');
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, [{ topic, numPartitions: 1, replicationFactor: 1 }]);
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, messages: values.map((value) => ({ key: 'k', value })) });
    await producer.disconnect();
    return topic;
  }

  async function until(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error('condition not met in time');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  it('treats a handler that hangs past its deadline as a retriable failure, and keeps its partitions', async () => {
    const kafka = testKafka('runner-deadline');
    const service = uniqueName('test-runner-hang');
    const topic = await sourceWith(kafka, [JSON.stringify({ id: 'hang' }), JSON.stringify({ id: 'next' })]);
    const handled: { id: string; attempt: number }[] = [];
    let hung = false;
    const runner = new ConsumerRunner<TestEvent>({
      kafka,
      service,
      topics: [topic],
      retry: { delaysMs: [200], jitter: 0 },
      decode,
      handlerTimeoutMs: 500,
      handle: async (event, context) => {
        if (event.id === 'hang' && !hung) {
          hung = true;
          await new Promise(() => undefined); // never settles
        }
        handled.push({ id: event.id, attempt: context.attempt });
      },
      logger,
    });
    await runner.start();
    try {
      await until(() => handled.some((h) => h.id === 'hang'));
      expect(handled).toEqual([
        { id: 'next', attempt: 1 },
        { id: 'hang', attempt: 2 },
      ]);
      const admin = kafka.admin();
      await admin.connect();
      const { groups } = await admin.describeGroups([service]);
      await admin.disconnect();
      expect(groups[0]?.state).toBe('Stable');
      expect(groups[0]?.members).toHaveLength(1);
    } finally {
      await runner.stop();
    }
  }, 60_000);

  it('a retry consumer stopped while paused on a message not yet due still handles it after restart', async () => {
    const kafka = testKafka('runner-pause');
    const service = uniqueName('test-runner-pause');
    const topic = await sourceWith(kafka, [JSON.stringify({ id: 'later' })]);
    const handled: { id: string; attempt: number }[] = [];
    const make = () =>
      new ConsumerRunner<TestEvent>({
        kafka,
        service,
        topics: [topic],
        retry: { delaysMs: [3_000], jitter: 0 },
        decode,
        handle: async (event, context) => {
          handled.push({ id: event.id, attempt: context.attempt });
          if (context.attempt === 1) throw new PipelineError('try again later', { code: 'LATER', retriable: true });
        },
        logger,
      });
    const first = make();
    await first.start();
    await until(() => handled.length === 1);
    // The copy sits on the retry topic, due in 3 s; the retry consumer has it paused.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await first.stop();
    expect(handled).toEqual([{ id: 'later', attempt: 1 }]);
    const second = make();
    await second.start();
    try {
      await until(() => handled.length === 2);
      expect(handled).toEqual([
        { id: 'later', attempt: 1 },
        { id: 'later', attempt: 2 },
      ]);
    } finally {
      await second.stop();
    }
  }, 60_000);

  it('waits for a source topic that does not exist, says which, and consumes nothing after a stop during the wait', async () => {
    const kafka = testKafka('runner-wait');
    const service = uniqueName('test-runner-wait');
    const missing = uniqueName('test.runner.missing');
    const runner = new ConsumerRunner<TestEvent>({
      kafka,
      service,
      topics: [missing],
      retry: { delaysMs: [200], jitter: 0 },
      decode,
      handle: async () => undefined,
      topicPollMs: 100,
      logger,
    });
    const starting = runner.start();
    await until(() => runner.notReadyReason === `waiting for topic ${missing}`);
    await runner.stop();
    await starting;
    expect(runner.notReadyReason).toBe('stopping');
    // The start ended without joining a group: nothing consumes after stop().
    const admin = kafka.admin();
    await admin.connect();
    const { groups } = await admin.describeGroups([service, `${service}.retry`]);
    const topics = await admin.listTopics();
    await admin.disconnect();
    expect(groups.map((group) => group.members.length)).toEqual([0, 0]);
    expect(topics).not.toContain(missing);
  }, 60_000);
});
