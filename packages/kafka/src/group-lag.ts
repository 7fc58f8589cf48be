import { type Logger, scrapeCache } from '@pipeline/runtime';
import type { Admin, Kafka } from 'kafkajs';
import { Gauge, type Registry } from 'prom-client';

/** How far a consumer group is behind on one partition, as the broker sees it. */
export interface PartitionLag {
  topic: string;
  partition: number;
  /** The group's committed offset; null when it has committed none (it starts at the log start). */
  committed: string | null;
  /** The log-end offset (high watermark). */
  end: string;
  /** Messages between the committed offset (or the log start) and the log end. */
  lag: number;
}

/**
 * The group's lag on every partition of `topics` (default: every topic it has committed offsets
 * on that still exists), from its committed offsets and the log-end offsets. Works whether or not
 * the group's members are alive: a stalled consumer shows a lag that grows.
 */
export async function groupLag(admin: Admin, groupId: string, topics?: readonly string[]): Promise<PartitionLag[]> {
  const committed = topics ? await admin.fetchOffsets({ groupId, topics: [...topics] }) : await admin.fetchOffsets({ groupId });
  const existing = new Set(await admin.listTopics());
  const lags: PartitionLag[] = [];
  for (const { topic, partitions } of committed) {
    // Offsets outlive a deleted topic: nothing is behind on it.
    if (!existing.has(topic)) continue;
    const ends = new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, o]));
    for (const { partition, offset } of partitions) {
      const end = ends.get(partition);
      if (!end) continue;
      const at = offset === '-1' ? BigInt(end.low) : BigInt(offset);
      const behind = BigInt(end.high) - at;
      lags.push({ topic, partition, committed: offset === '-1' ? null : offset, end: end.high, lag: Number(behind > 0n ? behind : 0n) });
    }
  }
  return lags.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
}

/** The broker-side lag series of one consumer group, read on scrape; `close()` lets go of the broker. */
export interface GroupLagMetrics {
  close(): Promise<void>;
}

/**
 * `consumer_group_lag` and `consumer_group_committed_offset` per partition of `topics`, asked of the
 * broker when Prometheus scrapes (at most once per `refreshMs`), so they move even when the consumer
 * does not: a stalled consumer shows its lag growing and its committed offset standing still.
 */
export function groupLagMetrics(options: {
  registry: Registry;
  kafka: Kafka;
  group: string;
  topics: readonly string[];
  logger: Logger;
  refreshMs?: number;
}): GroupLagMetrics {
  let admin: Admin | undefined;
  let closed = false;
  const read = scrapeCache(
    async () => {
      if (closed) return undefined;
      if (!admin) {
        const connecting = options.kafka.admin();
        await connecting.connect();
        admin = connecting;
      }
      return groupLag(admin, options.group, options.topics);
    },
    options.refreshMs ?? 2_000,
    (error) => options.logger.debug({ err: error }, 'could not read the consumer group’s offsets from the broker for /metrics'),
  );
  const labelNames = ['group', 'topic', 'partition'] as const;
  const series = (name: string, help: string, value: (p: PartitionLag) => number) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers: [options.registry],
      async collect() {
        const lags = await read();
        if (!lags) return;
        // Partitions that went away (a topic deleted) leave the exposition.
        this.reset();
        for (const p of lags) this.set({ group: options.group, topic: p.topic, partition: String(p.partition) }, value(p));
      },
    });
  series(
    'consumer_group_lag',
    'Messages between the consumer group’s committed offset and the log end, per partition, from the broker on each scrape',
    (p) => p.lag,
  );
  series('consumer_group_committed_offset', 'The consumer group’s committed offset per partition, from the broker (-1: none yet)', (p) =>
    p.committed === null ? -1 : Number(p.committed),
  );
  return {
    close: async () => {
      closed = true;
      await admin?.disconnect();
    },
  };
}
