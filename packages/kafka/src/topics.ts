import { sleep } from '@pipeline/runtime';
import type { Admin, ITopicConfig } from 'kafkajs';

/** A topic the pipeline needs, with its settings. */
export interface TopicSpec {
  topic: string;
  numPartitions: number;
  replicationFactor: number;
  /** Broker-side topic configs, for example `{ 'retention.ms': '-1' }` (unlimited). */
  configEntries?: Record<string, string>;
}

/** Unlimited retention: cdc, retry and dead-letter topics keep their history (docs/architecture.md, "Topics keep their history"). */
export const KEEP_FOREVER = { 'retention.ms': '-1', 'retention.bytes': '-1' } as const;

/** Topic configs for KAFKA_TOPIC_RETENTION_MS: -1 keeps history forever, anything else ages records out. */
export function retentionConfig(retentionMs: number): Record<string, string> {
  return retentionMs === -1 ? { ...KEEP_FOREVER } : { 'retention.ms': String(retentionMs), 'retention.bytes': '-1' };
}

/**
 * Creates the topics that do not exist yet and waits until every partition has a leader: topic
 * auto-creation on first use is unreliable on KRaft, so the pipeline never depends on it.
 */
export async function ensureTopics(admin: Admin, specs: readonly TopicSpec[], timeoutMs = 30_000): Promise<string[]> {
  if (specs.length === 0) return [];
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((spec) => !existing.has(spec.topic));
  if (missing.length > 0) {
    const topics: ITopicConfig[] = missing.map((spec) => ({
      topic: spec.topic,
      numPartitions: spec.numPartitions,
      replicationFactor: spec.replicationFactor,
      configEntries: Object.entries(spec.configEntries ?? {}).map(([name, value]) => ({ name, value })),
    }));
    try {
      // Not waitForLeaders: kafkajs then asks for metadata at once and fails with
      // UNKNOWN_TOPIC_OR_PARTITION (retriable) while several clients create topics on a fresh
      // broker; the wait below retries that until every partition has a leader.
      await admin.createTopics({ topics, waitForLeaders: false, timeout: timeoutMs });
    } catch (error) {
      // Another process may have created one of them between listTopics and createTopics.
      if (!isTopicExists(error)) throw error;
    }
  }
  await waitForLeaders(
    admin,
    specs.map((spec) => spec.topic),
    timeoutMs,
  );
  return missing.map((spec) => spec.topic);
}

export interface WaitForTopicsOptions {
  /** How often the broker is asked, ms. Default 1000. */
  pollMs?: number;
  /** Called after every look that found topics missing, with those topics. */
  onMissing?: (missing: string[]) => void;
  /** Stops the wait: it then resolves `false`. */
  signal?: AbortSignal;
}

/**
 * Waits until every topic exists and each of its partitions has a leader. A consumer started
 * before the cdc-reader (which creates the cdc topics when it first leads) waits here instead of
 * failing, and a new group then reads them from the earliest offset: nothing is lost. Resolves
 * `true` once they exist, `false` if `signal` aborted first.
 */
export async function waitForTopics(admin: Admin, topics: readonly string[], options: WaitForTopicsOptions = {}): Promise<boolean> {
  for (;;) {
    if (options.signal?.aborted) return false;
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((topic) => !existing.has(topic));
    if (missing.length === 0) break;
    options.onMissing?.(missing);
    await sleep(options.pollMs ?? 1_000, options.signal);
  }
  await waitForLeaders(admin, [...topics], 30_000);
  return true;
}

async function waitForLeaders(admin: Admin, topics: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      // Asked for by name before the broker's metadata has them, kafkajs logs an error for each
      // ("This server does not host this topic-partition"): only once they are all listed.
      const listed = new Set(await admin.listTopics());
      if (topics.every((topic) => listed.has(topic))) {
        const { topics: metadata } = await admin.fetchTopicMetadata({ topics });
        const ready = metadata.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0));
        if (ready) return;
      }
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
    if (Date.now() > deadline) {
      throw new Error(`topics ${topics.join(', ')} have no leader after ${timeoutMs} ms: is the broker healthy?`);
    }
    await sleep(100);
  }
}

function isTopicExists(error: unknown): boolean {
  const e = error as { type?: string; errors?: { type?: string }[] } | undefined;
  if (e?.type === 'TOPIC_ALREADY_EXISTS') return true;
  return Array.isArray(e?.errors) && e.errors.every((inner) => inner.type === 'TOPIC_ALREADY_EXISTS');
}
