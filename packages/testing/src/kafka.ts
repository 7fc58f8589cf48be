import { makeKafka } from '@pipeline/kafka';
import { makeLogger } from '@pipeline/runtime';
import { type Kafka, logLevel } from 'kafkajs';
import { sharedStack } from './shared-stack';

/** A kafkajs client for the shared test broker; its logs are silent unless TEST_LOG_LEVEL is set. */
export function testKafka(clientId: string, brokers: string[] = sharedStack().endpoints.kafkaBrokers): Kafka {
  const logger = makeLogger({ service: clientId, level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  return makeKafka({ clientId, brokers, retry: { retries: 5 } }, logger, logLevel.ERROR);
}

/** A consumer group's committed offset on one partition of a topic ('-1' or undefined: none). */
export async function committedOffset(kafka: Kafka, groupId: string, topic: string, partition = 0): Promise<string | undefined> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return offsets?.partitions.find((p) => p.partition === partition)?.offset;
  } finally {
    await admin.disconnect();
  }
}

/**
 * Resolves once `groupId` has committed the log-end offset of every partition of `topic`: every
 * message written so far was handled (or routed). Fails after `timeoutMs` with the lag it saw.
 */
export async function groupCaughtUp(kafka: Kafka, groupId: string, topic: string, timeoutMs = 60_000): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const ends = await admin.fetchTopicOffsets(topic);
      const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
      const at = new Map((committed?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
      const behind = ends.filter((end) => (at.get(end.partition) ?? -1n) < BigInt(end.high) && BigInt(end.high) > BigInt(end.low));
      if (behind.length === 0) return;
      if (Date.now() > deadline) {
        const lag = behind.map((end) => `${end.partition}: ${at.get(end.partition) ?? 'none'} of ${end.high}`).join(', ');
        throw new Error(`${groupId} did not catch up with ${topic} in ${timeoutMs} ms (partition: committed of end: ${lag})`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    await admin.disconnect();
  }
}

/** Polls `probe` until it returns something other than undefined (or `timeoutMs` passes, then fails saying `what`). */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
