import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { makePool, type Pool } from '@pipeline/db';
import { ensureTopics, readTopicToEnd } from '@pipeline/kafka';
import { CAPTURED_TABLES, cdcTopic, DEFAULT_TOPIC_PREFIX } from '@pipeline/schemas';
import { makeStack, stackEndpoints } from '@pipeline/stack';
import { eventually } from '@pipeline/testing';
import { Kafka, logLevel } from 'kafkajs';
import { PipelineRun } from '../packages/cli/src/__tests__/pipeline-run';
import type { DemoSummary } from '../packages/cli/src/demo/summary';

interface SesStore {
  emails: { messageId: string; destination: { to: string[] } }[];
}

/** Every cdc topic the reader writes in this test: the six tables' and the transaction topic. */
const TOPICS = [
  ...CAPTURED_TABLES.map((table) => cdcTopic(DEFAULT_TOPIC_PREFIX, `public.${table}`)),
  `${DEFAULT_TOPIC_PREFIX}.transactions`,
];

/** Compacted, with small segments and a low dirty ratio, so the log cleaner compacts while the test runs. */
const COMPACTED = {
  'cleanup.policy': 'compact',
  'segment.ms': '1000',
  'min.cleanable.dirty.ratio': '0.01',
  'min.compaction.lag.ms': '0',
};

/** Every record of a topic: its key, partition and offset. */
async function recordsOf(kafka: Kafka, topic: string): Promise<{ key: string | null; partition: number; offset: string }[]> {
  const records: { key: string | null; partition: number; offset: string }[] = [];
  await readTopicToEnd(kafka, topic, {
    onMessage: (message, partition) => records.push({ key: message.key?.toString() ?? null, partition, offset: message.offset }),
  });
  return records;
}

/** Offsets the log cleaner removed from a topic (between its log start and end, the ones no record holds any more). */
async function compactedAway(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const span = (await admin.fetchTopicOffsets(topic)).reduce((sum, o) => sum + Number(BigInt(o.high) - BigInt(o.low)), 0);
    return span - (await recordsOf(kafka, topic)).length;
  } finally {
    await admin.disconnect();
  }
}

/**
 * A new user's compacted topics: the six cdc topics and the transaction topic made compacted
 * before the first start. The reader snapshots and streams (every record has a key), the log
 * cleaner compacts while the demo runs, every service's work is right, and replaying the
 * order-processor's group over the compacted history sends no second email.
 */
describe('compacted cdc topics', () => {
  const harness = new PipelineRun('compacted-');
  let pool: Pool | undefined;
  let kafka: Kafka;
  let env: Record<string, string | undefined>;

  beforeAll(async () => {
    await harness.init();
    await makeStack(harness.config).up();
    env = await harness.env({ CDC_TRANSACTION_TOPIC: 'true' });
    kafka = new Kafka({ brokers: [`127.0.0.1:${harness.config.kafka.port}`], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    try {
      await ensureTopics(
        admin,
        TOPICS.map((topic) => ({ topic, numPartitions: 3, replicationFactor: 1, configEntries: COMPACTED })),
      );
    } finally {
      await admin.disconnect();
    }
    pool = makePool({ connectionString: stackEndpoints(harness.config).databaseUrl, applicationName: 'compacted-test', max: 2 });
  }, 120_000);
  afterEach(() => harness.interrupt(), 60_000);
  afterAll(async () => {
    await pool?.end();
    await harness.destroy();
  }, 120_000);

  it('snapshot, stream, compact, and every service right; a replay sends no second email', async () => {
    const { lines } = harness;
    const exited = harness.start(env, ['--demo-seconds', '12', '--demo-rate', '5', '--demo-seed', '26', '--status-every', '0']);
    const summary = (
      await eventually('the demo’s summary', async () => lines.find((line) => line.msg === 'demo summary'), 300_000).catch(
        (error: Error) => {
          throw new Error(`${error.message}; last lines:\n${harness.lastLines()}`);
        },
      )
    ).summary as DemoSummary & { settled: boolean };
    // The snapshot's end-of-snapshot records went to every partition of every table's topic: no refusal, no loop.
    expect(lines.filter((line) => line.service === 'cdc-reader' && line.msg.startsWith('initial snapshot done'))).toHaveLength(1);
    expect(lines.some((line) => line.level === 'fatal' || String(line.msg).includes('Kafka refused'))).toBe(false);

    // The cleaner compacted: earlier changes of orders (pending, then confirmed) are gone from the log.
    await eventually(
      'the log cleaner to compact the orders topic',
      async () => ((await compactedAway(kafka, TOPICS[1] as string)) > 0 ? true : undefined),
      90_000,
    );
    expect(TOPICS[1]).toBe('cdc.public.orders');

    // Every record on every cdc topic has a key.
    for (const topic of TOPICS) {
      const records = await recordsOf(kafka, topic);
      expect([topic, records.filter((r) => r.key === null)]).toEqual([topic, []]);
    }
    const ends = (await recordsOf(kafka, 'cdc.public.orders')).filter((r) => r.key?.startsWith('__control:snapshot-end:'));
    expect(ends.map((r) => [r.partition, r.key]).sort()).toEqual([0, 1, 2].map((p) => [p, `__control:snapshot-end:public.orders:${p}`]));

    // The demo's work is right, as the database and the SES endpoint say.
    expect(summary.settled).toBe(true);
    const db = pool as Pool;
    const one = async (sql: string, params: unknown[]) => (await db.query<{ n: number }>(sql, params)).rows[0]?.n;
    const run = summary.runId;
    const orders = `SELECT o.id FROM orders o JOIN customers c ON c.id = o.customer_id WHERE c.email LIKE 'demo-' || $1 || '-%'`;
    expect(summary.orders.pending).toBe(0);
    expect(summary.orders.confirmed).toBe(
      await one(`SELECT count(*)::int AS n FROM orders WHERE id IN (${orders}) AND status = 'confirmed'`, [run]),
    );
    expect(summary.orders.confirmed).toBeGreaterThan(0);
    const emails = async () => {
      const store = (await (await fetch(`http://127.0.0.1:${harness.config.ses.port}/store`)).json()) as SesStore;
      return store.emails.filter((email) => email.destination.to.some((to) => to.startsWith(`demo-${run}-`))).length;
    };
    const sent = await emails();
    expect(sent).toBe(summary.orders.confirmed);
    expect(summary.reorderTasks).toBeGreaterThan(0);
    const { rows: metrics } = await db.query<{ owner: string; won: number; lost: number }>(
      `SELECT owner, deals_won AS won, deals_lost AS lost FROM sales_metrics WHERE owner LIKE '%.' || $1 ORDER BY owner`,
      [run],
    );
    expect(summary.metrics.map((m) => ({ owner: m.owner, won: m.won, lost: m.lost }))).toEqual(metrics);
    expect(metrics.length).toBeGreaterThan(0);
    expect([summary.retries, summary.deadLetters]).toEqual([0, 0]);
    const webhooks = lines.find((line) => String(line.msg).startsWith('demo webhooks:'))?.webhooks as
      | { received: number; verified: number }
      | undefined;
    expect(webhooks?.received).toBeGreaterThan(0);
    expect(webhooks?.verified).toBe(webhooks?.received);

    // Replay the order-processor's group from the earliest offset of the compacted orders topic.
    await harness.interrupt();
    expect((await exited)[0]).toBe(0);
    const replay = spawnSync(
      process.execPath,
      [
        join(harness.repoRoot, 'packages', 'cli', 'bin', 'pipeline.js'),
        'replay',
        '--group',
        'order-processor',
        '--topic',
        'cdc.public.orders',
        '--earliest',
        '--execute',
      ],
      { env, encoding: 'utf8' },
    );
    expect([replay.status, replay.stderr]).toEqual([0, '']);
    lines.length = 0;
    harness.start(env, ['--no-demo', '--status-every', '0']);
    const admin = kafka.admin();
    await admin.connect();
    try {
      await eventually(
        'the order-processor to read the compacted topic to its end again',
        async () => {
          const ends = await admin.fetchTopicOffsets('cdc.public.orders');
          const [committed] = await admin.fetchOffsets({ groupId: 'order-processor', topics: ['cdc.public.orders'] });
          const caughtUp = ends.every((end) => committed?.partitions.find((p) => p.partition === end.partition)?.offset === end.high);
          return caughtUp ? true : undefined;
        },
        120_000,
      );
    } finally {
      await admin.disconnect();
    }
    expect(await emails()).toBe(sent);
    expect(await one(`SELECT count(*)::int AS n FROM orders WHERE id IN (${orders}) AND status = 'confirmed'`, [run])).toBe(
      summary.orders.confirmed,
    );
  }, 420_000);
});
