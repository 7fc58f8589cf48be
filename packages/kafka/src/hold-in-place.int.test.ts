import { makeLogger } from '@pipeline/runtime';
import { eventually, testKafka, testLogLevel, uniqueName } from '@pipeline/testing';
import { ConsumerRunner } from './runner';
import { ensureTopics } from './topics';

/** The database's answer while it restarts (SQLSTATE 57P03). */
const starting = () => Object.assign(new Error('the database system is starting up'), { code: '57P03' });

/**
 * A consumer whose effects must follow commit order per key (the webhook-dispatcher's queue): a
 * change that fails because the database is away is tried again in place, and the key's later
 * changes wait for it. Found by the chaos run (issue 27): during a PostgreSQL restart the
 * dispatcher sent an opportunity's change to its retry topic, queued the row's next change first,
 * and the receiver got them out of commit order.
 */
describe('a message held in place while the database is away', () => {
  it('is handled before every later message of its partition, and never takes the retry ladder', async () => {
    const kafka = testKafka('hold-in-place');
    const topic = uniqueName('test.hold');
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, [{ topic, numPartitions: 1, replicationFactor: 1 }]);
    await admin.disconnect();
    const handled: string[] = [];
    const outcomes: string[] = [];
    let failures = 0;
    const runner = new ConsumerRunner<string>({
      kafka,
      service: uniqueName('hold'),
      topics: [topic],
      retry: { delaysMs: [100], jitter: 0 },
      sessionTimeoutMs: 6_000,
      handlerTimeoutMs: 3_000,
      holdInPlace: (error) => (error as { code?: string }).code === '57P03',
      logger: makeLogger({ service: 'hold', level: testLogLevel('silent') }),
      decode: async (value) => String(value),
      handle: async (event) => {
        // The row's first change meets the database restarting, three times.
        if (event === 'row-1 first' && failures < 3) {
          failures++;
          throw starting();
        }
        handled.push(event);
      },
      onOutcome: (outcome, context) => {
        outcomes.push(`${outcome} ${context.offset}`);
      },
    });
    try {
      await runner.start();
      const producer = kafka.producer();
      await producer.connect();
      await producer.send({
        topic,
        messages: ['row-1 first', 'row-1 second', 'row-2 only', 'row-1 third'].map((value) => ({ key: value.slice(0, 5), value })),
      });
      await producer.disconnect();
      await eventually('every message handled', async () => (handled.length === 4 ? true : undefined), 60_000);
      expect(handled).toEqual(['row-1 first', 'row-1 second', 'row-2 only', 'row-1 third']);
      expect(failures).toBe(3);
      // Nothing took the retry ladder: each message has one outcome, processed.
      expect(outcomes).toEqual(['processed 0', 'processed 1', 'processed 2', 'processed 3']);
    } finally {
      await runner.stop(0);
    }
  }, 120_000);
});
