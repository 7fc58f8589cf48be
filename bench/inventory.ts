import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { deleteTestTopics, groupCaughtUp, sharedStack, testKafka, uniqueName } from '@pipeline/testing';
import type { Kafka } from 'kafkajs';
import { benchDatabase, type Database, log, startReader, startService, stopChild } from './support';

/**
 * inventory-watcher's handling rate, the real service (dist/main.js) behind the real cdc-reader:
 *  (a) changes that cross nothing (stock 100 → 99 against a threshold of 10): nothing to write,
 *  (b) the same number of changes, half of them crossing below the threshold (each a reorder task
 *      and a notification in one transaction with its processed-event row), half crossing nothing.
 * Rates are taken from the watcher's own outcome records (first to last handled), so the reader's
 * part is left out; (b) ÷ (a) is printed. Rounds alternate, with a restock between them.
 */

const ITEMS = Number(process.env.BENCH_INVENTORY_ITEMS ?? 4_000);
const ROUNDS = Number(process.env.BENCH_INVENTORY_ROUNDS ?? 2);
const WATCHER = join(__dirname, '..', 'services', 'inventory-watcher', 'dist', 'main.js');

async function startWatcher(db: Database, id: string, group: string): Promise<ChildProcess> {
  return startService(WATCHER, {
    DATABASE_URL: db.url,
    CDC_TOPIC_PREFIX: `bench_${id}`,
    SCHEMA_TOPIC: `_pipeline.schemas.bench_${id}`,
    CONSUMER_GROUP: group,
  });
}

/** Waits until `expected` records are in the topic and the group handled them; the group's outcomes since `mark`. */
async function handled(
  db: Database,
  kafka: Kafka,
  topic: string,
  group: string,
  expected: number,
  mark: number,
): Promise<{ events: number; seconds: number }> {
  const admin = kafka.admin();
  await admin.connect();
  let lastPrint = Date.now();
  for (;;) {
    const written = (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
    if (written >= expected) break;
    if (Date.now() - lastPrint > 5_000) {
      lastPrint = Date.now();
      log(`… the reader has written ${written} of ${expected}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await admin.disconnect();
  await groupCaughtUp(kafka, group, topic, 600_000);
  const { rows } = await db.pool.query<{ n: string; seconds: number }>(
    `SELECT count(*) AS n, extract(epoch FROM max(recorded_at) - min(recorded_at))::float8 AS seconds
       FROM event_outcomes WHERE consumer_group = $1 AND id > $2`,
    [group, mark],
  );
  return { events: Number(rows[0]?.n ?? 0), seconds: rows[0]?.seconds ?? 0 };
}

async function outcomeMark(db: Database): Promise<number> {
  const { rows } = await db.pool.query<{ id: string }>('SELECT coalesce(max(id), 0) AS id FROM event_outcomes');
  return Number(rows[0]?.id ?? 0);
}

export async function benchInventory(): Promise<void> {
  await sharedStack().up();
  const id = uniqueName('inv').replace(/^inv_/, '');
  const db = await benchDatabase();
  const kafka = testKafka('bench-inventory');
  const topic = `bench_${id}.public.inventory`;
  const group = `bench_${id}_watcher`;
  let reader: ChildProcess | undefined;
  let watcher: ChildProcess | undefined;
  try {
    await db.pool.query(
      `INSERT INTO inventory (sku, product_name, quantity, reorder_threshold)
       SELECT 'BENCH-' || g, 'Bench item ' || g, 100, 10 FROM generate_series(1, $1) g`,
      [ITEMS],
    );
    reader = (await startReader(db, `bench_slot_${id}`, id)).child;
    watcher = await startWatcher(db, id, group);
    let expected = ITEMS;
    // Warm-up: the snapshot (every item judged against its current row).
    await handled(db, kafka, topic, group, expected, 0);
    log(`${ITEMS} items; ${ROUNDS} rounds of ${ITEMS} changes each way`);

    const rates: { none: number[]; half: number[] } = { none: [], half: [] };
    for (let round = 1; round <= ROUNDS; round++) {
      let mark = await outcomeMark(db);
      await db.pool.query('UPDATE inventory SET quantity = 99');
      expected += ITEMS;
      const none = await handled(db, kafka, topic, group, expected, mark);
      rates.none.push(none.events / none.seconds);

      mark = await outcomeMark(db);
      await db.pool.query(`UPDATE inventory SET quantity = CASE WHEN right(sku, 1) IN ('0', '2', '4', '6', '8') THEN 5 ELSE 98 END`);
      expected += ITEMS;
      const half = await handled(db, kafka, topic, group, expected, mark);
      rates.half.push(half.events / half.seconds);
      const { rows } = await db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM tasks WHERE status = 'open'`);
      log(
        `round ${round}: crossing nothing ${Math.round(none.events / none.seconds)} changes/s (${none.events} in ${none.seconds.toFixed(2)} s); ` +
          `half crossing ${Math.round(half.events / half.seconds)} changes/s (${half.events} in ${half.seconds.toFixed(2)} s, ${rows[0]?.n} open tasks)`,
      );

      // Restock everything (closing the tasks) before the next round; not measured.
      mark = await outcomeMark(db);
      await db.pool.query('UPDATE inventory SET quantity = 100');
      expected += ITEMS;
      await handled(db, kafka, topic, group, expected, mark);
    }
    const best = (values: number[]) => Math.max(...values);
    log(
      `inventory-watcher: half crossing ${Math.round(best(rates.half))} changes/s, crossing nothing ${Math.round(best(rates.none))} changes/s ` +
        `(best of ${ROUNDS}); ratio ${(best(rates.half) / best(rates.none)).toFixed(2)}`,
    );
  } finally {
    for (const child of [watcher, reader]) if (child && child.exitCode === null) await stopChild(child);
    await db.drop();
    await deleteTestTopics(kafka).catch(() => undefined);
  }
}
