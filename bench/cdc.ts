import { spawnSync } from 'node:child_process';
import { ensureTopics, makeProducer, readTopicToEnd } from '@pipeline/kafka';
import { deleteTestTopics, sharedStack, testKafka, uniqueName } from '@pipeline/testing';
import type { Kafka, Message } from 'kafkajs';
import pg from 'pg';
import { testReaderOptions } from '../services/cdc-reader/src/__tests__/harness';
import { CdcReader } from '../services/cdc-reader/src/reader';
import { benchDatabase, confirmedReached, currentLsn, type Database, log, mb, quantile, rss, startReader, stopChild } from './support';

/**
 * The cdc-reader on one backlog, in one run:
 *  (a) pg_recvlogical draining a slot to /dev/null (pgoutput, proto 1: what PostgreSQL can decode),
 *  (b) the reader draining an identical slot into Kafka with acks=all,
 *  (c) the reader's producer (makeProducer) alone, sending the very records (b) wrote, keys and
 *      headers included, batched as the reader batches: the practical ceiling of the Kafka client.
 * (b) ÷ (c) is the target (the Kafka client's cost per record bounds the reader); (b) ÷ (a) is
 * printed for information. Then steady 1,000 rows/s (commit-to-ack latency, peak RSS) and RSS
 * through large transactions. Figures are printed, never asserted.
 */

const BACKLOG_ROWS = Number(process.env.BENCH_CDC_ROWS ?? 200_000);
const BACKLOG_TXNS = 4;
const STEADY_SECONDS = Number(process.env.BENCH_CDC_STEADY_SECONDS ?? 20);

/** Waits until the slot confirmed `lsn`, sampling the reader's RSS; returns seconds and peak RSS. */
async function drain(db: Database, slot: string, lsn: string, pid: number): Promise<{ seconds: number; peakRss: number }> {
  const started = process.hrtime.bigint();
  let peakRss = 0;
  let lastPrint = Date.now();
  while (!(await confirmedReached(db, slot, lsn))) {
    peakRss = Math.max(peakRss, rss(pid));
    if (Date.now() - lastPrint > 5_000) {
      lastPrint = Date.now();
      log(`… still draining (${(Number(process.hrtime.bigint() - started) / 1e9).toFixed(0)} s, RSS ${mb(peakRss)})`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, peakRss: Math.max(peakRss, rss(pid)) };
}

/** Order-like rows (numeric totals, timestamps, uuids), in `txns` transactions. */
async function writeBacklog(db: Database, rows: number, txns: number): Promise<void> {
  const { rows: customers } = await db.pool.query<{ id: string }>(
    `INSERT INTO customers (email, name) VALUES ('${uniqueName('c')}@example.com', 'Bench') RETURNING id`,
  );
  const per = Math.ceil(rows / txns);
  for (let t = 0; t < txns; t++) {
    await db.pool.query(
      `INSERT INTO orders (customer_id, total, status) SELECT $1, (g % 100000) / 100.0, 'pending' FROM generate_series(1, $2) g`,
      [customers[0]?.id, Math.min(per, rows - t * per)],
    );
  }
}

/** The reader batches at most this many bytes per request (MAX_BATCH_BYTES in the reader). */
const READER_BATCH_BYTES = 512 * 1024;

/** The records of a topic exactly as they were written: key, value and headers. */
async function recordsOf(kafka: Kafka, topic: string): Promise<Message[]> {
  const records: Message[] = [];
  await readTopicToEnd(kafka, topic, {
    onMessage: (message) => records.push({ key: message.key, value: message.value, headers: message.headers ?? {} }),
    timeoutMs: 600_000,
  });
  return records;
}

/**
 * (c) The reader's producer with nothing else to do: the same records, batched to the reader's
 * request size, each batch acknowledged (acks=all) before the next as the reader does; seconds.
 */
async function produceAlone(kafka: Kafka, records: readonly Message[], topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, [{ topic, numPartitions: 3, replicationFactor: 1 }]);
  await admin.disconnect();
  const producer = makeProducer(kafka);
  await producer.connect();
  const started = process.hrtime.bigint();
  let batch: Message[] = [];
  let bytes = 0;
  for (const record of records) {
    batch.push(record);
    bytes += (record.value as Buffer).length + (record.key?.length ?? 0);
    if (bytes >= READER_BATCH_BYTES) {
      await producer.sendBatch({ topicMessages: [{ topic, messages: batch }], acks: -1 });
      batch = [];
      bytes = 0;
    }
  }
  if (batch.length > 0) await producer.sendBatch({ topicMessages: [{ topic, messages: batch }], acks: -1 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await producer.disconnect();
  return seconds;
}

/** A Kafka whose producers acknowledge at once: what the reader costs without its client. */
function stubbedKafka(real: Kafka): Kafka {
  const producer = () => ({
    connect: async () => undefined,
    disconnect: async () => undefined,
    send: async () => [],
    sendBatch: async () => [],
  });
  return new Proxy(real, { get: (target, property) => (property === 'producer' ? producer : Reflect.get(target, property)) });
}

async function drainStubbed(db: Database, slot: string, end: string, id: string): Promise<number> {
  const pool = new pg.Pool({ connectionString: db.readerUrl, max: 2 });
  const reader = new CdcReader({
    ...testReaderOptions({ pool, readerUrl: db.readerUrl, kafka: stubbedKafka(testKafka('bench-stub')), id: `bench_stub_${id}` }),
    slot,
  });
  const started = process.hrtime.bigint();
  reader.start();
  while (!(await confirmedReached(db, slot, end))) await new Promise((resolve) => setTimeout(resolve, 25));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await reader.stop();
  await pool.end();
  return seconds;
}

export async function benchCdc(): Promise<void> {
  const which = spawnSync('pg_recvlogical', ['--version'], { encoding: 'utf8' });
  if (which.error) throw new Error('pg_recvlogical not found: install postgresql-client (apt-get install postgresql-client)');
  await sharedStack().up();
  const db = await benchDatabase();
  const id = uniqueName('b');
  try {
    // (a) and (b) read the same backlog: two slots created at the same point before it was written.
    const recvSlot = `recv_${id}`;
    const readerSlot = `reader_${id}`;
    await db.pool.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [recvSlot]);
    await db.pool.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [readerSlot]);
    const stubSlot = `stub_${id}`;
    await db.pool.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [stubSlot]);
    log(`writing a backlog of ${BACKLOG_ROWS} order rows in ${BACKLOG_TXNS} transactions`);
    await writeBacklog(db, BACKLOG_ROWS, BACKLOG_TXNS);
    const end = await currentLsn(db);

    log('(a) pg_recvlogical → /dev/null');
    const recvStarted = process.hrtime.bigint();
    const recv = spawnSync(
      'pg_recvlogical',
      [
        '-d',
        db.url,
        '--slot',
        recvSlot,
        '--start',
        '--endpos',
        end,
        '--no-loop',
        '-f',
        '/dev/null',
        '-o',
        'proto_version=1',
        '-o',
        'publication_names=pipeline',
      ],
      { encoding: 'utf8' },
    );
    if (recv.status !== 0) throw new Error(`pg_recvlogical failed: ${recv.stderr}`);
    const recvSeconds = Number(process.hrtime.bigint() - recvStarted) / 1e9;

    log('(b) cdc-reader → Kafka, acks=all');
    const backlogReader = await startReader(db, readerSlot, id);
    const backlog = await drain(db, readerSlot, end, backlogReader.child.pid as number);
    await stopChild(backlogReader.child);

    log('(c) the reader’s producer alone, sending the records (b) wrote');
    const kafka = testKafka('bench-producer');
    const written = await recordsOf(kafka, `bench_${id}.public.orders`);
    const aloneSeconds = await produceAlone(kafka, written, `bench_${id}.producer_alone`);

    log("(b') cdc-reader in this process with Kafka stubbed out: decoding, mapping and Avro alone");
    const stubbedSeconds = await drainStubbed(db, stubSlot, end, id);

    const recvRate = BACKLOG_ROWS / recvSeconds;
    const readerRate = BACKLOG_ROWS / backlog.seconds;
    const aloneRate = written.length / aloneSeconds;
    process.stdout.write(
      `cdc backlog (${BACKLOG_ROWS} rows): cdc-reader ${readerRate.toFixed(0)} rows/s; the reader's producer alone, sending the same ` +
        `${written.length} records, ${aloneRate.toFixed(0)} records/s; reader / producer alone ${(readerRate / aloneRate).toFixed(2)} (target >= 0.8); ` +
        `reader peak RSS ${mb(backlog.peakRss)}\n`,
    );
    process.stdout.write(
      `cdc backlog, for information: pg_recvlogical ${recvRate.toFixed(0)} rows/s, reader / pg_recvlogical ${(readerRate / recvRate).toFixed(2)} ` +
        '(no target: the Kafka client’s cost per record bounds the reader)\n',
    );
    process.stdout.write(
      `cdc backlog without Kafka (producer stubbed): ${(BACKLOG_ROWS / stubbedSeconds).toFixed(0)} rows/s — ` +
        'the rest of the gap is the Kafka client\n',
    );

    log(`steady 1,000 rows/s for ${STEADY_SECONDS} s, one row per transaction`);
    // Frequent heartbeats let the slot catch up with the WAL the earlier phases wrote, before the
    // load starts: a restarted walsender first re-decodes from restart_lsn, which is not steady state.
    const steadyReader = await startReader(db, readerSlot, id, { CDC_HEARTBEAT_INTERVAL_MS: '200' });
    const caughtUpTo = await currentLsn(db);
    while (!(await confirmedReached(db, readerSlot, caughtUpTo))) await new Promise((resolve) => setTimeout(resolve, 50));
    let peakRss = 0;
    const rssTimer = setInterval(() => {
      peakRss = Math.max(peakRss, rss(steadyReader.child.pid as number));
    }, 100);
    const { rows: customers } = await db.pool.query<{ id: string }>('SELECT id FROM customers LIMIT 1');
    const startedAt = Date.now();
    // The writers' own commit round trips: a stall here is PostgreSQL's, not the reader's.
    const commitMs: number[] = [];
    let sent = 0;
    const inflight: Promise<unknown>[] = [];
    while (Date.now() - startedAt < STEADY_SECONDS * 1000) {
      const due = Math.floor(((Date.now() - startedAt) / 1000) * 1000);
      while (sent < due) {
        const queued = performance.now();
        inflight.push(
          db.pool
            .query(`INSERT INTO orders (customer_id, total) VALUES ($1, 12.34)`, [customers[0]?.id])
            .then(() => commitMs.push(performance.now() - queued)),
        );
        sent++;
      }
      if (inflight.length > 200) await Promise.all(inflight.splice(0));
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await Promise.all(inflight);
    const steadyEnd = await currentLsn(db);
    while (!(await confirmedReached(db, readerSlot, steadyEnd))) await new Promise((resolve) => setTimeout(resolve, 50));
    clearInterval(rssTimer);
    const metrics = await (await fetch(`http://127.0.0.1:${steadyReader.port}/metrics`)).text();
    await stopChild(steadyReader.child);
    const p50 = quantile(metrics, 'cdc_commit_to_ack_seconds', 0.5) * 1000;
    const p99 = quantile(metrics, 'cdc_commit_to_ack_seconds', 0.99) * 1000;
    process.stdout.write(
      `cdc steady (${sent} single-row transactions at 1,000/s): commit-to-Kafka-ack p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms ` +
        `(target p99 <= 25 ms); reader peak RSS ${mb(peakRss)} (target < 300 MB)\n`,
    );
    commitMs.sort((a, b) => a - b);
    const at = (q: number) => commitMs[Math.min(commitMs.length - 1, Math.floor(q * commitMs.length))] ?? Number.NaN;
    process.stdout.write(
      `cdc steady, for comparison: the writers' INSERT…COMMIT round trip p50 ${at(0.5).toFixed(1)} ms, p99 ${at(0.99).toFixed(1)} ms\n`,
    );

    const sizes = [200_000, 1_000_000];
    const peaks: number[] = [];
    for (const size of sizes) {
      log(`one transaction of ${size} rows`);
      const reader = await startReader(db, readerSlot, id);
      await db.pool.query(`INSERT INTO suppliers (name, default_order_quantity) SELECT 'big-' || g, 1 FROM generate_series(1, $1) g`, [
        size,
      ]);
      const result = await drain(db, readerSlot, await currentLsn(db), reader.child.pid as number);
      await stopChild(reader.child);
      peaks.push(result.peakRss);
      log(`${size} rows in ${result.seconds.toFixed(1)} s (${(size / result.seconds).toFixed(0)} rows/s), peak RSS ${mb(result.peakRss)}`);
    }
    process.stdout.write(
      `cdc large transactions: peak RSS ${mb(peaks[0] ?? 0)} at 200,000 rows, ${mb(peaks[1] ?? 0)} at 1,000,000 rows, ` +
        `ratio ${((peaks[1] ?? 0) / (peaks[0] ?? 1)).toFixed(2)} (target <= 1.5)\n`,
    );
  } finally {
    await db.drop();
    await deleteTestTopics(testKafka('bench-cleanup'));
  }
}
