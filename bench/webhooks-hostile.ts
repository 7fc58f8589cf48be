import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { deleteTestTopics, sharedStack, testKafka, uniqueName } from '@pipeline/testing';
import { addSubscription, SecretBox } from '@pipeline/webhooks';
import { benchDatabase, log, rss, startReader, startService, stopChild } from './support';
import { latencyReceiver, quantileOf } from './webhook-receiver';

/**
 * webhook-dispatcher beside hostile receivers (the longer run of `hostile.int.test.ts`): a healthy
 * endpoint's commit-to-receiver latency at a steady rate, alone, then with ten endpoints that
 * answer every way but well subscribed to the same changes (their receivers in a process of
 * their own). Measured, not asserted.
 */

const RATE = Number(process.env.BENCH_HOSTILE_RATE ?? 50);
const SECONDS = Number(process.env.BENCH_HOSTILE_SECONDS ?? 20);
const DISPATCHER = join(__dirname, '..', 'services', 'webhook-dispatcher', 'dist', 'main.js');

export async function benchWebhooksHostile(): Promise<void> {
  await sharedStack().up();
  const { url, received, server } = await latencyReceiver();
  const db = await benchDatabase();
  const id = uniqueName('hostile');
  const reader = await startReader(db, uniqueName('slot_hostile'), id);
  const key = randomBytes(32).toString('base64');
  const box = new SecretBox(key);
  const subscribe = (name: string, url: string) =>
    addSubscription(db.pool, box, { name, url, tables: ['public.inventory'], operations: [], changedColumns: [] }, { allowPrivate: true });
  await subscribe('healthy', url);
  const dispatcher = await startService(DISPATCHER, {
    DATABASE_URL: db.url,
    CDC_TOPIC_PREFIX: `bench_${id}`,
    SCHEMA_TOPIC: `_pipeline.schemas.bench_${id}`,
    CONSUMER_GROUP: `bench-${id}`,
    WEBHOOK_SECRETS_KEY: key,
    WEBHOOK_POLL_MS: '20',
    WEBHOOK_BACKOFF_BASE_MS: '500',
    WEBHOOK_BACKOFF_MAX_MS: '5000',
    WEBHOOK_RESPONSE_TIMEOUT_MS: '5000',
    ...(process.env.BENCH_HOSTILE_POOL ? { DATABASE_POOL_MAX: process.env.BENCH_HOSTILE_POOL } : {}),
  });
  const hostile = spawn(process.execPath, ['--require', 'tsx/cjs', join(__dirname, 'hostile-receivers-child.ts')], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  try {
    const phase = async (tag: string): Promise<number[]> => {
      const total = RATE * SECONDS;
      for (let i = 0; i < total; i++) {
        await db.pool.query(`INSERT INTO inventory (sku, product_name, quantity) VALUES ($1, 'Mug', 10)`, [`${tag}-${i}`]);
        await new Promise((resolve) => setTimeout(resolve, 1000 / RATE));
      }
      const deadline = Date.now() + 120_000;
      const mine = () => received.filter((r) => r.sku.startsWith(`${tag}-`));
      while (mine().length < total && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      if (mine().length < total) log(`only ${mine().length} of ${total} changes reached the healthy endpoint in 2 minutes`);
      return mine().map((r) => r.at - r.commitMs);
    };
    const alone = await phase('alone');
    const [line] = (await once(createInterface({ input: hostile.stdout as NodeJS.ReadableStream }), 'line')) as [string];
    for (const [kind, url] of Object.entries(JSON.parse(line) as Record<string, string>)) await subscribe(kind, url);
    const beside = await phase('beside');
    // Where the healthy endpoint's time goes: commit → queued (the consumer), queued → answered (claim, send, settle).
    const { rows: stages } = await db.pool.query<{ queued_p99: number; sent_p99: number; queued_p50: number; sent_p50: number }>(
      `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY q) AS queued_p50, percentile_cont(0.99) WITHIN GROUP (ORDER BY q) AS queued_p99,
              percentile_cont(0.5) WITHIN GROUP (ORDER BY a) AS sent_p50, percentile_cont(0.99) WITHIN GROUP (ORDER BY a) AS sent_p99
         FROM (SELECT extract(epoch FROM d.created_at - d.committed_at) * 1000 AS q,
                      extract(epoch FROM min(t.attempted_at) - d.created_at) * 1000 AS a
                 FROM webhook_deliveries d JOIN webhook_subscriptions s ON s.id = d.subscription_id
                 JOIN webhook_attempts t ON t.delivery_id = d.id
                WHERE s.name = 'healthy' AND d.payload->'record'->>'sku' LIKE 'beside-%'
                GROUP BY d.id) x`,
    );
    const stage = stages[0];
    if (stage) {
      log(
        `beside them, the healthy endpoint's changes: commit to queued p50 ${Math.round(stage.queued_p50)} ms, p99 ${Math.round(stage.queued_p99)} ms; ` +
          `queued to answered and recorded p50 ${Math.round(stage.sent_p50)} ms, p99 ${Math.round(stage.sent_p99)} ms`,
      );
    }
    const { rows } = await db.pool.query<{ verdict: string; n: number }>(
      `SELECT a.verdict, count(*)::int AS n FROM webhook_attempts a JOIN webhook_subscriptions s ON s.id = a.subscription_id
        WHERE s.name <> 'healthy' GROUP BY a.verdict ORDER BY a.verdict`,
    );
    log(
      `healthy endpoint at ${RATE} changes/s for ${SECONDS} s, commit to receiver: alone p50 ${quantileOf(alone, 0.5)} ms, p99 ${quantileOf(alone, 0.99)} ms; ` +
        `beside 10 hostile receivers p50 ${quantileOf(beside, 0.5)} ms, p99 ${quantileOf(beside, 0.99)} ms ` +
        `(${(quantileOf(beside, 0.99) / quantileOf(alone, 0.99)).toFixed(2)} × the p99 alone)`,
    );
    log(
      `hostile attempts by verdict: ${rows.map((r) => `${r.verdict} ${r.n}`).join(', ')}; dispatcher still running: ${dispatcher.exitCode === null}, RSS ${Math.round(rss(dispatcher.pid ?? 0) / 1024 / 1024)} MB`,
    );
  } finally {
    hostile.stdin?.end();
    await stopChild(dispatcher);
    await stopChild(reader.child);
    server.close();
    await db.drop();
    await deleteTestTopics(testKafka('bench-hostile-cleanup')).catch(() => undefined);
  }
}
