import { outcomesOf } from '@pipeline/db';
import { FAILURE_HEADERS, headersAsText, readTopicToEnd } from '@pipeline/kafka';
import {
  createTestDatabase,
  runPipeline,
  startConsumerChild,
  type TestChild,
  type TestDatabase,
  taskEffects,
  testKafka,
  topicWithOrders,
  uniqueName,
  waitUntilReady,
} from '@pipeline/testing';
import type { Kafka } from 'kafkajs';

const EVENTS = 6;

/**
 * Two consumer groups of one service (CONSUMER_GROUP) read the same topic: each handles every
 * event, each retries and dead-letters on topics of its own, and `pipeline dlq --group` tells
 * their letters apart.
 */
describe('two consumer groups of one service', () => {
  let kafka: Kafka;
  let db: TestDatabase;
  const children: (TestChild & { port: number })[] = [];
  const service = uniqueName('test-groups');
  const groups = [`${service}-main`, `${service}-audit`];

  beforeAll(async () => {
    kafka = testKafka('consumer-groups');
    db = await createTestDatabase('groups');
  });
  afterAll(async () => {
    for (const child of children) {
      child.process.kill('SIGTERM');
      await child.exited;
    }
    await db.drop();
  });

  const pipeline = (args: string[]) => runPipeline([...args, '--database-url', db.url]);

  async function messages(topic: string): Promise<Record<string, string>[]> {
    const out: Record<string, string>[] = [];
    await readTopicToEnd(kafka, topic, { onMessage: (message) => out.push(headersAsText(message.headers)) });
    return out;
  }

  it('each group handles every event once, retries on its own topics and dead-letters the poison event once', async () => {
    const { prefix, ids } = await topicWithOrders(kafka, 'groups', EVENTS);
    const poison = ids[2] as string;
    for (const group of groups) {
      const child = await startConsumerChild(db.url, {
        SERVICE: service,
        CONSUMER_GROUP: group,
        CDC_TOPIC_PREFIX: prefix,
        FAILING_EVENTS: poison,
        RETRY_DELAYS_MS: '300,300',
      });
      children.push(child);
    }
    // Joining is the slow part on a busy machine; the clock for the work starts once both groups are in.
    await Promise.all(children.map((child, i) => waitUntilReady(child, child.port, groups[i] as string, 120_000)));
    const deadline = Date.now() + 60_000;
    for (;;) {
      const outcomes = await outcomesOf(db.pool, poison);
      const done = (await taskEffects(db.pool, service)).filter((effect) => effect.n === '2').length === EVENTS - 1;
      if (done && groups.every((group) => outcomes.some((o) => o.group === group && o.outcome === 'dead_lettered'))) break;
      if (Date.now() > deadline) {
        const logs = children.map((child, i) => `${groups[i]}:\n${child.lines.slice(-30).join('\n')}`).join('\n');
        throw new Error(`the poison event was not dead-lettered by both groups: ${JSON.stringify(outcomes)}\n${logs}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }

    // Each healthy event's effect once per group: the groups' idempotency keys are their own.
    const effects = await taskEffects(db.pool, service);
    expect(effects).toHaveLength(EVENTS - 1);
    expect(effects.filter((effect) => effect.n !== '2')).toEqual([]);
    for (const group of groups) {
      const trail = (await outcomesOf(db.pool, poison)).filter((o) => o.group === group).map((o) => `${o.outcome}@${o.attempt}`);
      expect(trail).toEqual(['retried@1', 'retried@2', 'dead_lettered@3']);
      // Its retry topics carry its own copies only, and its dead-letter topic the one letter.
      for (const topic of [`${group}.retry.1`, `${group}.retry.2`, `${group}.dlq`]) {
        const copies = await messages(topic);
        expect(copies.map((h) => [h['event-id'], h[FAILURE_HEADERS.consumerGroup]])).toEqual([[poison, group]]);
      }
    }
    // The service's default group never ran: it has no topics of its own.
    const admin = kafka.admin();
    await admin.connect();
    const topics = await admin.listTopics();
    await admin.disconnect();
    expect(topics.filter((topic) => topic.startsWith(`${service}.`))).toEqual([]);

    for (const group of groups) {
      const listed = pipeline(['dlq', 'list', '--service', service, '--group', group, '--json']);
      expect(listed.stderr).toBe('');
      expect(listed.status).toBe(0);
      const letters = JSON.parse(listed.stdout) as { eventId: string; error: string; attempts: number }[];
      expect(letters).toEqual([
        expect.objectContaining({
          eventId: poison,
          attempts: 3,
          error: expect.stringContaining('WAREHOUSE_DOWN: the warehouse API keeps failing'),
        }),
      ]);
    }
    const human = pipeline(['dlq', 'list', '--service', service, '--group', groups[1] as string]);
    expect(human.stdout).toContain('WAREHOUSE_DOWN');
    expect(pipeline(['dlq', 'list', '--service', service]).stdout).toBe(
      `no dead letters for ${service} (resolved ones are hidden; --all shows them)\n`,
    );
    // The admins hear of it once per group, and are told which group to look at.
    const { rows } = await db.pool.query<{ message: string }>(
      `SELECT message FROM notifications WHERE type = 'dead_letter' ORDER BY message`,
    );
    expect(rows.map((r) => /dlq list --service \S+ --group ([^`]+)`/.exec(r.message)?.[1]).sort()).toEqual([...groups].sort());
  }, 240_000);
});
