import { outcomesOf } from '@pipeline/db';
import {
  committedOffset,
  createTestDatabase,
  topicWithOrders as ordersTopic,
  runPipeline,
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

/** Replay, dead-letter inspection, redrive and resolve, against services running as processes. */
describe('operations: pipeline replay and pipeline dlq', () => {
  let kafka: Kafka;
  let db: TestDatabase;
  const children: TestChild[] = [];

  beforeAll(async () => {
    kafka = testKafka('operations');
    db = await createTestDatabase('ops');
  });
  afterAll(async () => {
    for (const child of children) {
      child.process.kill('SIGTERM');
      await child.exited;
    }
    await db.drop();
  });

  const pipeline = (args: string[]) => runPipeline([...args, '--database-url', db.url]);

  const topicWithOrders = (prefix: string) => ordersTopic(kafka, prefix, EVENTS);

  async function start(env: Record<string, string>): Promise<TestChild> {
    const child = await startConsumerChild(db.url, { RETRY_DELAYS_MS: '500', ...env });
    children.push(child);
    return child;
  }

  async function stop(child: TestChild): Promise<void> {
    child.process.kill('SIGTERM');
    expect((await child.exited).code).toBe(0);
    children.splice(children.indexOf(child), 1);
  }

  async function until(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  const committed = (group: string, topic: string) => committedOffset(kafka, group, topic);

  const outcomes = async (service: string, ids: string[]) =>
    (await Promise.all(ids.map((id) => outcomesOf(db.pool, id)))).flat().filter((o) => o.service === service);

  it('replay: a dry run moves nothing; --execute re-reads everything, and idempotency makes no duplicate effect', async () => {
    const service = uniqueName('test-replay');
    const { prefix, topic, ids } = await topicWithOrders('replay');
    const first = await start({ SERVICE: service, CDC_TOPIC_PREFIX: prefix });
    await untilTaskEffects(db.pool, service, EVENTS);
    await stop(first);
    expect(await committed(service, topic)).toBe(String(EVENTS));

    const dry = pipeline(['replay', '--group', service, '--topic', topic, '--earliest', '--json']);
    expect(dry.status).toBe(0);
    expect(JSON.parse(dry.stdout)).toEqual({
      group: service,
      topic,
      executed: false,
      partitions: [{ partition: 0, current: '10', next: '0', low: '0', high: '10', change: 10 }],
    });
    expect(await committed(service, topic)).toBe('10');
    const table = pipeline(['replay', '--group', service, '--topic', topic, '--shift-by', '-4']);
    expect(table.stdout).toMatch(/^partition +current +new +offsets +to re-read\n0 +10 +6 +0\.\.10 +4\n/);
    expect(table.stdout).toContain('dry run: nothing moved; add --execute to move the offsets');
    const nextOf = (args: string[]) =>
      (
        JSON.parse(pipeline(['replay', '--group', service, '--topic', topic, ...args, '--json']).stdout) as {
          partitions: { next: string }[];
        }
      ).partitions[0]?.next;
    expect(nextOf(['--to-offset', '0:7'])).toBe('7');
    expect(nextOf(['--to-datetime', '2000-01-01T00:00:00Z'])).toBe('0');
    expect(nextOf(['--to-datetime', '2999-01-01T00:00:00Z'])).toBe('10');
    expect(nextOf(['--shift-by', '-400'])).toBe('0');
    const wrong = pipeline(['replay', '--group', service, '--topic', topic, '--to-offset', 'seven']);
    expect(wrong.stderr).toContain('--to-offset expects PARTITION:OFFSET, for example 0:1500 (got seven)');
    const two = pipeline(['replay', '--group', service, '--topic', topic, '--earliest', '--shift-by', '1']);
    expect(two.stderr).toContain('choose exactly one of --earliest, --to-datetime, --to-offset, --shift-by');

    const executed = pipeline(['replay', '--group', service, '--topic', topic, '--earliest', '--execute']);
    expect(executed.status).toBe(0);
    expect(executed.stdout).toContain(`moved group ${service} on ${topic}`);
    expect(await committed(service, topic)).toBe('0');

    const second = await start({ SERVICE: service, CDC_TOPIC_PREFIX: prefix });
    await until('every event re-read', async () => (await outcomes(service, ids)).filter((o) => o.outcome === 'skipped').length >= EVENTS);
    // While it runs, replay refuses.
    const live = pipeline(['replay', '--group', service, '--topic', topic, '--earliest', '--execute']);
    expect(live.status).toBe(1);
    expect(live.stderr).toMatch(
      new RegExp(`^pipeline: group ${service} has 1 live member\\(s\\) \\(.*\\): stop its service first; a live group would overwrite`),
    );
    await stop(second);
    expect((await taskEffects(db.pool, service)).filter((r) => r.n !== '1')).toEqual([]);
    expect(await taskEffects(db.pool, service)).toHaveLength(EVENTS);
    for (const id of ids) expect((await outcomes(service, [id])).map((o) => o.outcome)).toEqual(['processed', 'skipped']);

    // A projection keeps its own position: replay says how to rebuild it instead.
    await db.pool.query(`INSERT INTO projection_checkpoints (projection, topic, "partition", "offset") VALUES ($1, $2, 0, 9)`, [
      service,
      topic,
    ]);
    const projection = pipeline(['replay', '--group', service, '--topic', topic, '--earliest', '--execute']);
    expect(projection.status).toBe(1);
    expect(projection.stderr).toContain(
      `group ${service} applies the projection ${service}, which keeps its position in projection_checkpoints`,
    );
    expect(projection.stderr).toContain('Rebuild the projection instead');
    expect(await committed(service, topic)).toBe('10');
  }, 180_000);

  it('dlq: list, show, resolve; redrive once the cause is fixed processes each letter exactly once, for that service only', async () => {
    const service = uniqueName('test-dlq');
    const other = uniqueName('test-dlq-other');
    const { prefix, topic, ids } = await topicWithOrders('dlq');
    const poisoned = ids.slice(3, 6);
    const bystander = await start({ SERVICE: other, CDC_TOPIC_PREFIX: prefix });
    const sick = await start({ SERVICE: service, CDC_TOPIC_PREFIX: prefix, POISON_EVENTS: poisoned.join(',') });
    await untilTaskEffects(db.pool, service, EVENTS - poisoned.length);
    await until(
      'three dead letters',
      async () => (await outcomes(service, poisoned)).filter((o) => o.outcome === 'dead_lettered').length === 3,
    );
    await untilTaskEffects(db.pool, other, EVENTS);

    // The admins hear of it once, however many letters arrive in the window.
    const alerts = await db.pool.query<{ title: string; message: string; priority: string; target_role: string }>(
      `SELECT title, message, priority, target_role FROM notifications WHERE type = 'dead_letter' AND title LIKE $1`,
      [`${service}:%`],
    );
    expect(alerts.rows).toHaveLength(1);
    expect(alerts.rows[0]).toMatchObject({
      priority: 'high',
      target_role: 'admin',
      title: `${service}: an event was dead-lettered (ORDER_INVALID)`,
    });
    expect(alerts.rows[0]?.message).toContain(`Once the cause is fixed: \`pipeline dlq redrive --service ${service}\``);

    const listed = JSON.parse(pipeline(['dlq', 'list', '--service', service, '--json']).stdout) as {
      at: string;
      eventId: string;
      status: string;
      error: string;
      sourceTopic: string;
    }[];
    expect(listed.map((l) => [l.at, l.eventId, l.status, l.sourceTopic])).toEqual(poisoned.map((id, i) => [`0:${i}`, id, 'open', topic]));
    expect(listed[0]?.error).toMatch(/^ORDER_INVALID: order .* cannot be confirmed: its customer is unknown$/);
    const filtered = JSON.parse(pipeline(['dlq', 'list', '--service', service, '--error', 'no such error', '--json']).stdout) as unknown[];
    expect(filtered).toEqual([]);

    const shown = JSON.parse(pipeline(['dlq', 'show', '--service', service, '--at', '0:0', '--json']).stdout) as {
      envelope: { eventId: string; op: string };
      headers: Record<string, string>;
      errorStack: string;
    };
    expect(shown.envelope).toMatchObject({ eventId: poisoned[0], op: 'c' });
    expect(shown.headers['pipeline-original-topic']).toBe(topic);
    expect(shown.errorStack).toMatch(/^PipelineError: order .* cannot be confirmed/);
    const text = pipeline(['dlq', 'show', '--service', service, '--at', '0:0']);
    expect(text.stdout).toMatch(new RegExp(`^dead letter 0:0 of ${service} \\(open\\)\\n  event       ${poisoned[0]}`));

    const resolved = pipeline(['dlq', 'resolve', '--service', service, '--at', '0:2', '--note', 'refunded by hand', '--actor', 'bob']);
    expect(resolved.status).toBe(0);
    expect((JSON.parse(pipeline(['dlq', 'list', '--service', service, '--json']).stdout) as unknown[]).length).toBe(2);
    const all = JSON.parse(pipeline(['dlq', 'list', '--service', service, '--all', '--json']).stdout) as {
      status: string;
      actions: { note: string; actor: string }[];
    }[];
    expect(all[2]).toMatchObject({ status: 'resolved', actions: [{ actor: 'bob', note: 'refunded by hand' }] });

    // The cause is fixed: the service runs without the poison.
    await stop(sick);
    const healthy = await start({ SERVICE: service, CDC_TOPIC_PREFIX: prefix });
    const dry = pipeline(['dlq', 'redrive', '--service', service, '--dry-run']);
    expect(dry.stdout).toContain('would redrive 2 letter(s)');
    const redriven = pipeline(['dlq', 'redrive', '--service', service, '--actor', 'alice']);
    expect(redriven.status).toBe(0);
    expect(redriven.stdout).toContain(`redrove 2 letter(s) to ${service}.redrive as alice`);
    await untilTaskEffects(db.pool, service, EVENTS - 1);
    const again = pipeline(['dlq', 'redrive', '--service', service, '--actor', 'alice']);
    expect(again.stdout).toContain(`nothing to redrive for ${service}`);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await stop(healthy);

    const effects = await taskEffects(db.pool, service);
    expect(effects.filter((r) => r.n !== '1')).toEqual([]);
    expect(effects).toHaveLength(EVENTS - 1);
    for (const id of poisoned.slice(0, 2)) {
      expect((await outcomes(service, [id])).map((o) => `${o.outcome}@${o.topic === `${service}.redrive` ? 'redrive' : 'source'}`)).toEqual(
        ['dead_lettered@source', 'processed@redrive'],
      );
    }
    expect((await outcomes(service, [poisoned[2] as string])).map((o) => o.outcome)).toEqual(['dead_lettered']);
    const actions = await db.pool.query<{ action: string; actor: string; n: string }>(
      'SELECT action, actor, count(*)::text AS n FROM dead_letter_actions WHERE service = $1 GROUP BY 1, 2 ORDER BY 1',
      [service],
    );
    expect(actions.rows).toEqual([
      { action: 'redriven', actor: 'alice', n: '2' },
      { action: 'resolved', actor: 'bob', n: '1' },
    ]);
    // The other service on the same source topic saw nothing of the redrive.
    await stop(bystander);
    expect(await outcomes(other, ids)).toHaveLength(EVENTS);
    expect(await taskEffects(db.pool, other)).toHaveLength(EVENTS);
  }, 180_000);
});
