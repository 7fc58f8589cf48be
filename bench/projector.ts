import { type ChildProcess, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { readTopicToEnd, SchemaResolver } from '@pipeline/kafka';
import { bundledSchemas, EnvelopeDecoder } from '@pipeline/schemas';
import { deleteTestTopics, groupCaughtUp, sharedStack, testKafka, uniqueName } from '@pipeline/testing';
import type { KafkaMessage } from 'kafkajs';
import { benchDatabase, type Database, log, startReader, startService, stopChild } from './support';

/**
 * metrics-projector on a backlog of opportunity changes, the built service behind the real reader:
 * the live projector's apply rate (a batch per partition and its checkpoint in one transaction), printed
 * beside the rate of reading and decoding the same topic without applying (same run), and
 * rebuilds of the whole topic while the live projector serves (the median of three against the
 * target ≥ 20,000 events/s, printed, never asserted).
 */

/** About this many events: snapshot rows and streamed changes. */
const EVENTS = Number(process.env.BENCH_PROJECTOR_EVENTS ?? 200_000);
const PROJECTOR = join(__dirname, '..', 'services', 'metrics-projector', 'dist', 'main.js');
/** Rebuilds measured one after the other; the median is the figure. */
const REBUILDS = Number(process.env.BENCH_PROJECTOR_REBUILDS ?? 3);

async function startProjector(db: Database, id: string, group: string): Promise<ChildProcess> {
  return startService(PROJECTOR, {
    DATABASE_URL: db.url,
    CDC_TOPIC_PREFIX: `bench_${id}`,
    SCHEMA_TOPIC: `_pipeline.schemas.bench_${id}`,
    CONSUMER_GROUP: group,
  });
}

/** Rows from before the slot (they arrive as the snapshot), inserted 5,000 to a transaction: two sevenths of the events. */
async function writeBacklog(db: Database): Promise<void> {
  const inserts = Math.floor((EVENTS * 2) / 7);
  for (let done = 0; done < inserts; done += 5_000) {
    await db.pool.query(
      `INSERT INTO opportunities (name, stage, value, owner)
       SELECT 'Bench ' || g, (ARRAY['prospecting','qualification','proposal','negotiation'])[1 + g % 4], (g % 100000) / 100.0,
              (ARRAY['ann','bob','cyd',NULL])[1 + g % 4]
         FROM generate_series($1::int, $2::int) g`,
      [done + 1, Math.min(inserts, done + 5_000)],
    );
  }
}

/** Changes in the topic: its records less the snapshot's ends (one per partition, once the snapshot is done). */
async function topicSize(topic: string): Promise<number> {
  const admin = testKafka('bench-projector-admin').admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0) - offsets.length;
  } finally {
    await admin.disconnect();
  }
}

export async function benchProjector(): Promise<void> {
  await sharedStack().up();
  const id = uniqueName('proj').replace(/^proj_/, '');
  const db = await benchDatabase();
  const kafka = testKafka('bench-projector');
  const topic = `bench_${id}.public.opportunities`;
  const group = `bench_${id}_projector`;
  let reader: ChildProcess | undefined;
  let projector: ChildProcess | undefined;
  try {
    await writeBacklog(db);
    reader = (await startReader(db, `bench_slot_${id}`, id)).child;
    let lastPrint = Date.now();
    const { rows } = await db.pool.query<{ n: string }>('SELECT count(*) AS n FROM opportunities');
    // The snapshot (every row once), then nothing: the changes above were written before the slot existed.
    const expected = Number(rows[0]?.n ?? 0);
    while ((await topicSize(topic).catch(() => 0)) < expected) {
      if (Date.now() - lastPrint > 5_000) {
        lastPrint = Date.now();
        log(`… the reader has written ${await topicSize(topic).catch(() => 0)} of ${expected}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    // Then as many streamed changes again: updates of every row, after the snapshot.
    await db.pool.query(`UPDATE opportunities SET stage = 'closed_won', value = value + 1`);
    await db.pool.query(`UPDATE opportunities SET stage = 'negotiation'`);
    await db.pool.query(`UPDATE opportunities SET owner = 'eve' WHERE hashtext(id::text) & 1 = 0`);
    const { rows: half } = await db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM opportunities WHERE owner = 'eve'`);
    const total = expected * 3 + Number(half[0]?.n ?? 0);
    while ((await topicSize(topic)) < total) await new Promise((resolve) => setTimeout(resolve, 200));
    log(`${total} opportunity changes in ${topic} (${expected} snapshot rows, ${total - expected} streamed)`);

    // (a) Reading and decoding the topic, applying nothing.
    const resolver = new SchemaResolver({ kafka, topic: `_pipeline.schemas.bench_${id}`, bundled: bundledSchemas() });
    const decoder = new EnvelopeDecoder(resolver.resolve);
    const messages: KafkaMessage[] = [];
    let started = process.hrtime.bigint();
    await readTopicToEnd(kafka, topic, { onMessage: (message) => messages.push(message), timeoutMs: 600_000 });
    for (const message of messages) await decoder.decodeEvent(message.value);
    const readSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    const readRate = messages.length / readSeconds;

    // (b) The live projector from the earliest offset.
    started = process.hrtime.bigint();
    projector = await startProjector(db, id, group);
    await groupCaughtUp(kafka, group, topic, 1_800_000);
    const liveSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    const liveRate = total / liveSeconds;
    log(
      `metrics-projector live: ${Math.round(liveRate)} events/s (${total} in ${liveSeconds.toFixed(1)} s, start to caught up); ` +
        `reading and decoding alone ${Math.round(readRate)} events/s; ratio ${(liveRate / readRate).toFixed(3)}`,
    );
    // (c) Rebuilds of the same topic while the live projector serves (`node dist/main.js rebuild`, what the CLI runs):
    // REBUILDS of them, the median printed (one rebuild's rate swings by a sixth from run to run on 2 cores).
    const rates: number[] = [];
    for (let run = 1; run <= REBUILDS; run++) {
      // The same start for each: the ids the previous swap retired are vacuumed away (as autovacuum would long before a real next rebuild).
      await db.pool.query('VACUUM ANALYZE processed_events');
      const outcome = rebuildOnce(db, id, group);
      rates.push(outcome.eventsPerSecond);
      log(
        `rebuild ${run} of ${REBUILDS}: ${outcome.eventsPerSecond} events/s (${outcome.events} in ${outcome.seconds.toFixed(1)} s, consumer start to swap)`,
      );
    }
    const median = [...rates].sort((a, b) => a - b)[Math.floor(rates.length / 2)] as number;
    log(
      `rebuild while live: median ${median} events/s (${Math.min(...rates)}–${Math.max(...rates)} over ${REBUILDS}); ` +
        `ratio to reading alone ${(median / readRate).toFixed(2)}; target ≥ 20,000 events/s: ${median >= 20_000 ? 'met' : 'not met'}`,
    );
  } finally {
    for (const child of [projector, reader]) if (child && child.exitCode === null) await stopChild(child);
    await db.drop();
    await deleteTestTopics(kafka).catch(() => undefined);
  }
}

/** One `rebuild` run to its swap; what it printed last. */
function rebuildOnce(db: Database, id: string, group: string): { events: number; seconds: number; eventsPerSecond: number } {
  const rebuild = spawnSync(process.execPath, [PROJECTOR, 'rebuild'], {
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH ?? '',
      DATABASE_URL: db.url,
      KAFKA_BROKERS: sharedStack().endpoints.kafkaBrokers.join(','),
      CDC_TOPIC_PREFIX: `bench_${id}`,
      SCHEMA_TOPIC: `_pipeline.schemas.bench_${id}`,
      CONSUMER_GROUP: group,
      LOG_LEVEL: 'warn',
    },
    maxBuffer: 64 * 1024 * 1024,
  });
  const outcome = JSON.parse(rebuild.stdout.trim().split('\n').at(-1) || '{}') as {
    events?: number;
    seconds?: number;
    eventsPerSecond?: number;
  };
  if (rebuild.status !== 0 || !outcome.events || outcome.seconds === undefined || outcome.eventsPerSecond === undefined)
    throw new Error(`the rebuild failed (exit ${rebuild.status}): ${rebuild.stderr.slice(-2000)}`);
  return { events: outcome.events, seconds: outcome.seconds, eventsPerSecond: outcome.eventsPerSecond };
}
