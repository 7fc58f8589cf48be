import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { deleteTestTopics, sharedStack, testKafka, uniqueName } from '@pipeline/testing';
import { addSubscription, SecretBox, webhookHeaders } from '@pipeline/webhooks';
import { benchDatabase, log, startReader, startService, stopChild } from './support';
import { latencyReceiver, quantileOf } from './webhook-receiver';

/**
 * webhook-dispatcher: deliveries per second to a fast local receiver (a burst of inserts, each its
 * own row, so up to the endpoint's concurrency are in flight), beside the same receiver taking
 * signed POSTs straight from this process at the same concurrency (the reference: the HTTP cost
 * alone); then commit-to-receiver latency at a steady 50 changes/s.
 */

const BURST = Number(process.env.BENCH_WEBHOOK_EVENTS ?? 3_000);
const CONCURRENCY = 8;
const DISPATCHER = join(__dirname, '..', 'services', 'webhook-dispatcher', 'dist', 'main.js');

export async function benchWebhooks(): Promise<void> {
  await sharedStack().up();
  const { url, received, server } = await latencyReceiver();

  // The reference: signed POSTs from here, CONCURRENCY at a time.
  const secret = `whsec_${randomBytes(32).toString('base64')}`;
  const body = JSON.stringify({
    type: 'INSERT',
    table: 'inventory',
    schema: 'public',
    record: { sku: 'ref' },
    old_record: null,
    event_id: 'ref',
    commit_timestamp: new Date().toISOString(),
  });
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < BURST) {
        const response = await fetch(url, {
          method: 'POST',
          body,
          headers: { 'content-type': 'application/json', ...webhookHeaders([secret], `msg_${next}`, Math.floor(Date.now() / 1000), body) },
        });
        await response.arrayBuffer();
      }
    }),
  );
  const reference = BURST / ((performance.now() - started) / 1000);
  received.length = 0;
  log(`reference: ${BURST} signed POSTs from one process, ${CONCURRENCY} at a time: ${reference.toFixed(0)}/s`);

  const db = await benchDatabase();
  const id = uniqueName('wh');
  const reader = await startReader(db, uniqueName('slot_wh'), id);
  const key = randomBytes(32).toString('base64');
  // The receiver is on loopback: its subscription allows private addresses, as a local one must.
  await addSubscription(
    db.pool,
    new SecretBox(key),
    { name: 'bench', url, tables: ['public.inventory'], operations: [], changedColumns: [], maxConcurrency: CONCURRENCY },
    { allowPrivate: true },
  );
  const dispatcher = await startService(DISPATCHER, {
    DATABASE_URL: db.url,
    CDC_TOPIC_PREFIX: `bench_${id}`,
    SCHEMA_TOPIC: `_pipeline.schemas.bench_${id}`,
    CONSUMER_GROUP: `bench-${id}`,
    WEBHOOK_SECRETS_KEY: key,
    WEBHOOK_POLL_MS: '20',
  });
  try {
    const wait = async (count: number) => {
      let printed = Date.now();
      while (received.length < count) {
        if (Date.now() - printed > 5_000) {
          printed = Date.now();
          log(`… ${received.length} of ${count} delivered`);
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    // A burst: every row its own, written 100 per transaction.
    for (let i = 0; i < BURST; i += 100) {
      await db.pool.query(
        `INSERT INTO inventory (sku, product_name, quantity) SELECT 'burst-' || g, 'Mug', 10 FROM generate_series($1::int, $2::int) g`,
        [i, Math.min(BURST, i + 100) - 1],
      );
    }
    await wait(BURST);
    const first = Math.min(...received.map((r) => r.at));
    const last = Math.max(...received.map((r) => r.at));
    const rate = BURST / Math.max(0.001, (last - first) / 1000);
    log(
      `burst: ${BURST} changes delivered at ${rate.toFixed(0)}/s (first to last received) = ${(rate / reference).toFixed(2)} × the reference`,
    );

    // Steady: 50 changes per second for 10 s; commit to received.
    received.length = 0;
    const steady = 500;
    for (let i = 0; i < steady; i++) {
      await db.pool.query(`INSERT INTO inventory (sku, product_name, quantity) VALUES ($1, 'Mug', 10)`, [`steady-${i}`]);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await wait(steady);
    const latencies = received.map((r) => r.at - r.commitMs);
    log(
      `steady 50/s: commit to receiver p50 ${quantileOf(latencies, 0.5).toFixed(0)} ms, p99 ${quantileOf(latencies, 0.99).toFixed(0)} ms ` +
        '(the reader’s commit-to-Kafka, the dispatcher’s consume and queue transaction, a poll every 20 ms, the request)',
    );
  } finally {
    await stopChild(dispatcher);
    await stopChild(reader.child);
    server.close();
    await db.drop();
    await deleteTestTopics(testKafka('bench-webhooks-cleanup')).catch(() => undefined);
  }
}
