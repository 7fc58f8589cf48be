import { outcomesOf } from '@pipeline/db';
import {
  committedOffset,
  createTestDatabase,
  topicWithOrders as ordersTopic,
  startConsumerChild,
  type TestChild,
  type TestDatabase,
  taskEffects,
  testKafka,
  uniqueName,
  untilTaskEffects,
} from '@pipeline/testing';
import type { Kafka } from 'kafkajs';

const EVENTS = 10;

/**
 * A consumer service as a real process (main(), startConsumerService): SIGTERM finishes or
 * abandons the in-flight message within its grace, commits, leaves the group; a retry consumer
 * SIGKILLed while paused on a message not yet due still handles it after restart.
 */
describe('a consumer service process', () => {
  let kafka: Kafka;
  let db: TestDatabase;
  beforeAll(async () => {
    kafka = testKafka('consumer-process');
    db = await createTestDatabase('cproc');
  });
  afterAll(async () => {
    await db.drop();
  });

  const topicWithOrders = (prefix: string) => ordersTopic(kafka, prefix, EVENTS);
  const start = (env: Record<string, string>) => startConsumerChild(db.url, env);

  const effects = (service: string) => taskEffects(db.pool, service);
  const untilEffects = (service: string, count: number) => untilTaskEffects(db.pool, service, count);

  const committed = (group: string, topic: string) => committedOffset(kafka, group, topic);

  async function groupState(groupId: string): Promise<{ state: string; members: number }> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const { groups } = await admin.describeGroups([groupId]);
      return { state: groups[0]?.state ?? 'missing', members: groups[0]?.members.length ?? 0 };
    } finally {
      await admin.disconnect();
    }
  }

  async function sigterm(child: TestChild): Promise<{ code: number | null; ms: number }> {
    const sent = Date.now();
    child.process.kill('SIGTERM');
    const { code } = await child.exited;
    return { code, ms: Date.now() - sent };
  }

  /** Each event's recorded outcomes in this service, as "outcome@attempt". */
  async function trail(service: string, eventId: string): Promise<string[]> {
    return (await outcomesOf(db.pool, eventId)).filter((o) => o.service === service).map((o) => `${o.outcome}@${o.attempt}`);
  }

  it.each([
    ['finishes a handler that ends within the grace', 'SLOW_EVENT', '6'],
    ['abandons a handler that hangs, and it is handled after restart', 'HANG_EVENT', '5'],
  ])(
    'on SIGTERM %s, commits, leaves the group and exits 0',
    async (_, behaviour, expectedCommit) => {
      const service = uniqueName('test-sigterm');
      const { prefix, topic, ids } = await topicWithOrders('sigterm');
      const inFlight = ids[5] as string;
      const first = await start({ SERVICE: service, CDC_TOPIC_PREFIX: prefix, [behaviour]: inFlight, SLOW_MS: '1000' });
      await first.waitForLine(new RegExp(`^handling ${inFlight}$`));
      const { code, ms } = await sigterm(first);
      process.stdout.write(`SIGTERM with ${behaviour}: exited ${code} after ${ms} ms\n`);
      expect(code).toBe(0);
      expect(ms).toBeLessThan(8_000);
      // Left the group at once (no member waiting out its session), and committed exactly what is done.
      expect(await groupState(service)).toEqual({ state: 'Empty', members: 0 });
      expect(await committed(service, topic)).toBe(expectedCommit);
      expect((await effects(service)).length).toBe(Number(expectedCommit));

      const second = await start({ SERVICE: service, CDC_TOPIC_PREFIX: prefix });
      try {
        await untilEffects(service, EVENTS);
      } finally {
        expect((await sigterm(second)).code).toBe(0);
      }
      expect((await effects(service)).filter((row) => row.n !== '1')).toEqual([]);
      // Nothing was delivered twice: every event has exactly one outcome, processed on its first attempt.
      for (const id of ids) expect(await trail(service, id)).toEqual(['processed@1']);
      // The second run started where the first had committed.
      const handledAgain = second.lines.filter((line) => line.startsWith('handling ')).map((line) => line.slice('handling '.length));
      expect(handledAgain).toEqual(ids.slice(Number(expectedCommit)));
    },
    120_000,
  );

  it('a retry consumer SIGKILLed while paused on a message not yet due handles it after restart', async () => {
    const service = uniqueName('test-paused');
    const { prefix, topic, ids } = await topicWithOrders('paused');
    const flaky = ids[3] as string;
    const env = { SERVICE: service, CDC_TOPIC_PREFIX: prefix, FAIL_FIRST_EVENT: flaky, RETRY_DELAYS_MS: '8000' };
    const first = await start(env);
    const port = Number((first.lines[0] as string).split(' ')[1]);
    // The retry consumer has fetched the copy and paused its partition until it is due.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`).catch(() => undefined))?.text();
      if (metrics && /^consumer_retry_paused_partitions(\{[^}]*\})? 1$/m.test(metrics)) break;
      if (Date.now() > deadline) throw new Error('the retry partition never paused');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(await trail(service, flaky)).toEqual(['retried@1']);
    // The source topic is committed past the event, so after the kill only the paused copy can bring it back.
    while ((await committed(service, topic)) !== String(EVENTS)) {
      if (Date.now() > deadline) throw new Error('the source offsets were never committed');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(await trail(service, flaky)).toEqual(['retried@1']);
    first.process.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    // Paused, not handled: nothing of the retry topic was committed.
    const retryTopic = `${service}.retry.1`;
    const retryCommit = await committed(`${service}.retry`, retryTopic);
    expect(['-1', '0', undefined]).toContain(retryCommit);

    const second = await start(env);
    try {
      await untilEffects(service, EVENTS);
    } finally {
      expect((await sigterm(second)).code).toBe(0);
    }
    expect((await effects(service)).filter((row) => row.n !== '1')).toEqual([]);
    expect(await trail(service, flaky)).toEqual(['retried@1', 'processed@2']);
  }, 120_000);
});
