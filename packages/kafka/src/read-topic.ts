import { randomUUID } from 'node:crypto';
import type { Kafka, KafkaMessage } from 'kafkajs';

export interface ReadTopicOptions {
  /** Called for each message, in offset order within a partition. */
  onMessage: (message: KafkaMessage, partition: number) => void;
  /** Messages read so far and in all (for a progress bar). */
  onProgress?: (done: number, total: number) => void;
  timeoutMs?: number;
}

/**
 * Reads a topic from its earliest offset up to the high watermark it had when the read began,
 * with a throwaway consumer group that commits nothing (operators' commands: list, show, redrive).
 */
export async function readTopicToEnd(kafka: Kafka, topic: string, options: ReadTopicOptions): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  let targets: Map<number, { low: bigint; high: bigint }>;
  try {
    if (!(await admin.listTopics()).includes(topic)) return 0;
    const offsets = await admin.fetchTopicOffsets(topic);
    targets = new Map(
      offsets.filter((o) => BigInt(o.high) > BigInt(o.low)).map((o) => [o.partition, { low: BigInt(o.low), high: BigInt(o.high) }]),
    );
  } finally {
    await admin.disconnect();
  }
  const total = [...targets.values()].reduce((sum, t) => sum + Number(t.high - t.low), 0);
  options.onProgress?.(0, total);
  if (total === 0) return 0;
  const groupId = `_pipeline.cli.${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false, maxWaitTimeInMs: 100 });
  await consumer.connect();
  let done = 0;
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timeoutMs = options.timeoutMs ?? 60_000;
      const timer = setTimeout(
        () => reject(new Error(`reading ${topic} took more than ${timeoutMs} ms (${done} of ${total} read)`)),
        timeoutMs,
      );
      const remaining = new Set(targets.keys());
      consumer
        .run({
          autoCommit: false,
          eachMessage: async ({ partition, message }) => {
            const target = targets.get(partition);
            if (!target || BigInt(message.offset) >= target.high) return;
            options.onMessage(message, partition);
            done++;
            options.onProgress?.(done, total);
            if (BigInt(message.offset) + 1n >= target.high) remaining.delete(partition);
            if (remaining.size === 0) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch((error: unknown) => {
          clearTimeout(timer);
          reject(error);
        });
    });
  } finally {
    await consumer.disconnect();
    const cleanup = kafka.admin();
    await cleanup.connect();
    await cleanup.deleteGroups([groupId]).catch(() => undefined);
    await cleanup.disconnect();
  }
  return total;
}
