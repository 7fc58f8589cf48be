import {
  applyBatchInTransaction,
  endRebuildProgress,
  lockProjectionExclusive,
  makePool,
  type Pool,
  type PoolClient,
  recordRebuildProgress,
  withTransaction,
} from '@pipeline/db';
import { compactedTopics, SchemaResolver } from '@pipeline/kafka';
import { type Logger, PipelineError } from '@pipeline/runtime';
import {
  bundledSchemas,
  type Change,
  cdcTopic,
  EnvelopeDecoder,
  isSnapshotEnd,
  type OpportunitiesRow,
  type SnapshotEnd,
  toChange,
} from '@pipeline/schemas';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { applyEvents } from '../apply-batch';
import type { Config } from '../config';
import { buildDeferredIndexes, createShadow, dropRetired, retireNamespace, SHADOW_SCHEMA, shadowName, swapShadow } from './shadow';
import { StoredCache } from './stored-cache';

export interface RebuildResult {
  projection: string;
  topic: string;
  /** Messages read from the earliest offset to the swap. */
  events: number;
  /** Messages that could not be applied (undecodable, or no position): the live projector dead-lettered them too. */
  unapplied: number;
  seconds: number;
  eventsPerSecond: number;
}

const SUBJECT = 'public.opportunities';

/**
 * Rebuilds the projection from the earliest offset into shadow tables while the live projector
 * keeps serving, then swaps them in: under the projection's exclusive lock (which every apply holds
 * shared) it catches up with the log end, swaps tables, checkpoints and processed-events namespace
 * in one transaction. Refuses a topic that may have lost messages (retention not unlimited, or a
 * log start above 0). Progress goes to the log as `rebuild progress` lines.
 */
export async function rebuildProjection(config: Config, kafka: Kafka, pool: Pool, logger: Logger): Promise<RebuildResult> {
  const projection = config.PROJECTION_NAME;
  const shadow = shadowName(projection);
  const topic = cdcTopic(config.CDC_TOPIC_PREFIX, SUBJECT);
  const started = Date.now();
  const admin = kafka.admin();
  await admin.connect();
  let ends: Map<number, bigint>;
  try {
    await refuseIncompleteTopic(admin, topic);
    ends = await endOffsets(admin, topic);
  } finally {
    await admin.disconnect();
  }
  const total = [...ends.values()].reduce((sum, end) => sum + Number(end), 0);
  const deferredIndexes = await createShadow(pool, projection, started);
  const shadowPool = makePool(
    { connectionString: config.DATABASE_URL, applicationName: 'metrics-projector-rebuild', max: 4, searchPath: `${SHADOW_SCHEMA},public` },
    (error) => logger.warn({ err: error }, 'an idle database connection of the rebuild failed'),
  );
  const resolver = new SchemaResolver({ kafka, topic: config.SCHEMA_TOPIC, bundled: bundledSchemas() });
  const decoder = new EnvelopeDecoder(resolver.resolve);
  const applied = new Map<number, bigint>();
  const cache = new StoredCache();
  let events = 0;
  let unapplied = 0;
  let swapClient: PoolClient | undefined;
  let retired: string | undefined;
  let swapped = false;
  // Partitions apply concurrently on connections of their own until the swap; from then on, one
  // batch at a time on the swap's connection (inside its transaction), never beside the swap's own work.
  const inFlight = new Set<Promise<unknown>>();
  let chain: Promise<unknown> = Promise.resolve();
  const onSwapConnection = <T>(work: () => Promise<T>): Promise<T> => {
    const run = chain.then(work);
    chain = run.catch(() => undefined);
    return run;
  };
  const consumer = kafka.consumer({
    groupId: `${config.CONSUMER_GROUP ?? 'metrics-projector'}.rebuild.${started}`,
    maxBytes: 8 * 1024 * 1024,
  });
  // Where it stands, every second: in the log (the CLI's progress bar) and in the database (the live projector's metrics).
  const report = () => recordRebuildProgress(pool, { projection, startedAt: new Date(started), done: events, total });
  await report();
  let reporting: Promise<void> = Promise.resolve();
  const progress = setInterval(() => {
    const seconds = (Date.now() - started) / 1000;
    logger.info({ done: events, total, eventsPerSecond: Math.round(events / seconds) }, 'rebuild progress');
    reporting = report().catch((error: unknown) => logger.warn({ err: error }, 'could not record the rebuild’s progress'));
  }, 1_000);
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachBatchAutoResolve: true,
      partitionsConsumedConcurrently: 3,
      eachBatch: async ({ batch, heartbeat }) => {
        if (swapped) return;
        const items: { event: Change<OpportunitiesRow> | SnapshotEnd; offset: string; eventId: string }[] = [];
        for (const message of batch.messages) {
          const event = await decodeOrSkip(decoder, message, logger);
          if (event) items.push({ event, offset: message.offset, eventId: event.eventId });
          else unapplied += 1;
        }
        const source = cache.forBatch();
        const apply = (client: PoolClient) =>
          applyBatchInTransaction(
            client,
            {
              projection: shadow,
              topic,
              partition: batch.partition,
              messages: items.map(({ offset, eventId }) => ({ offset, eventId })),
            },
            async (inner, fresh) => {
              await applyEvents(
                inner,
                fresh.map((index) => items[index]?.event as Change<OpportunitiesRow> | SnapshotEnd),
                batch.partition,
                source,
              );
            },
          );
        let done = true;
        if (items.length > 0) {
          const client = swapClient;
          try {
            if (client) {
              // Inside the swap's transaction: it commits with the swap, or the rebuild fails.
              await onSwapConnection(async () => {
                done = !swapped;
                if (done) await apply(client);
              });
            } else {
              const work = withTransaction(shadowPool, apply);
              inFlight.add(work);
              await work.finally(() => inFlight.delete(work));
            }
            source.committed();
          } catch (error) {
            source.failed();
            throw error;
          }
        }
        if (!done) return;
        events += batch.messages.length;
        const last = batch.messages.at(-1);
        if (last) applied.set(batch.partition, BigInt(last.offset) + 1n);
        await heartbeat();
      },
    });
    const reached = (targets: Map<number, bigint>) => [...targets].every(([partition, end]) => (applied.get(partition) ?? 0n) >= end);
    while (!reached(ends)) await new Promise((resolve) => setTimeout(resolve, 100));
    logger.info({ events, total }, 'rebuild caught up with the log end it started from: building its deferred indexes');
    await buildDeferredIndexes(shadowPool, deferredIndexes);
    logger.info({ events }, 'rebuild indexed: swapping');

    // The swap: every live apply waits from here until the commit.
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await lockProjectionExclusive(client, projection);
      await client.query(`SET LOCAL search_path TO ${SHADOW_SCHEMA}, public`);
      swapClient = client;
      const admin2 = kafka.admin();
      await admin2.connect();
      try {
        ends = await endOffsets(admin2, topic);
      } finally {
        await admin2.disconnect();
      }
      while (!reached(ends)) await new Promise((resolve) => setTimeout(resolve, 20));
      await onSwapConnection(async () => {
        swapped = true;
        consumer.pause([{ topic }]);
        // Batches that began on their own connections before the swap's: committed before the tables move.
        await Promise.all(inFlight);
        await client.query('SET LOCAL search_path TO public');
        retired = await swapShadow(client, projection);
        await client.query('INSERT INTO projection_rebuilds (projection, started_at, events, seconds) VALUES ($1, $2, $3, $4)', [
          projection,
          new Date(started),
          events,
          (Date.now() - started) / 1000,
        ]);
        await client.query('COMMIT');
      });
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      swapClient = undefined;
      client.release();
    }
    await dropRetired(pool);
    // The old namespace's ids, outside the lock: the live projector already applies under the new one.
    if (retired !== undefined) {
      const ids = await retireNamespace(pool, retired);
      logger.info({ namespace: retired, ids }, `retired the replaced processed-events namespace (${ids} ids)`);
    }
    const seconds = (Date.now() - started) / 1000;
    return { projection, topic, events, unapplied, seconds, eventsPerSecond: Math.round(events / seconds) };
  } finally {
    clearInterval(progress);
    // A report still on its way would bring the row back after the delete.
    await reporting;
    await endRebuildProgress(pool, projection).catch((error: unknown) =>
      logger.warn({ err: error }, 'could not clear the rebuild’s progress'),
    );
    await consumer.disconnect().catch(() => undefined);
    await shadowPool.end();
  }
}

/** A rebuild must see every message ever written: not compacted, unlimited retention, nothing deleted from the start. */
async function refuseIncompleteTopic(admin: ReturnType<Kafka['admin']>, topic: string): Promise<void> {
  if ((await compactedTopics(admin, [topic])).has(topic)) {
    throw new PipelineError(
      `${topic} is compacted (cleanup.policy=compact): it keeps only the latest change of each opportunity, so the stage ` +
        'transitions before it are gone and a rebuild from it would count less than happened. Rebuild from a topic that keeps ' +
        'every change (cleanup.policy=delete with retention.ms=-1), or keep the projection as it is',
      { code: 'REBUILD_REFUSED', retriable: false },
    );
  }
  const described = await admin.describeConfigs({
    resources: [{ type: 2, name: topic, configNames: ['retention.ms'] }],
    includeSynonyms: false,
  });
  const retention = described.resources[0]?.configEntries.find((entry) => entry.configName === 'retention.ms')?.configValue;
  if (retention !== '-1') {
    throw new PipelineError(
      `${topic} keeps messages for retention.ms=${retention}, not forever: a rebuild from it could miss changes. ` +
        `Set retention.ms=-1 on the topic (kafka-configs --alter --add-config retention.ms=-1) if it never deleted anything, else rebuild from a new snapshot`,
      { code: 'REBUILD_REFUSED', retriable: false },
    );
  }
  const offsets = await admin.fetchTopicOffsets(topic);
  const started = offsets.filter((offset) => offset.low !== '0');
  if (started.length > 0) {
    throw new PipelineError(
      `${topic} no longer starts at offset 0 (${started.map((o) => `partition ${o.partition} starts at ${o.low}`).join(', ')}): ` +
        'changes were deleted, so a rebuild from it would miss them. Take a new snapshot (see docs/operations.md) instead',
      { code: 'REBUILD_REFUSED', retriable: false },
    );
  }
}

async function endOffsets(admin: ReturnType<Kafka['admin']>, topic: string): Promise<Map<number, bigint>> {
  return new Map((await admin.fetchTopicOffsets(topic)).map((offset) => [offset.partition, BigInt(offset.high)]));
}

async function decodeOrSkip(
  decoder: EnvelopeDecoder,
  message: KafkaMessage,
  logger: Logger,
): Promise<Change<OpportunitiesRow> | SnapshotEnd | undefined> {
  try {
    const decoded = await decoder.decodeEvent<OpportunitiesRow>(message.value);
    const event = isSnapshotEnd(decoded) ? decoded : toChange(decoded);
    // Only what the projector could order: the live one dead-lettered the rest.
    if (event.subject !== SUBJECT || !/^[^:]+:[0-9A-Fa-f]+\/[0-9A-Fa-f]+:(\d+|r|e)(:|$)/.test(event.eventId)) return undefined;
    return event;
  } catch (error) {
    logger.warn(
      { err: error, offset: message.offset },
      'rebuild: a message that does not decode is left out (the live projector dead-lettered it)',
    );
    return undefined;
  }
}
