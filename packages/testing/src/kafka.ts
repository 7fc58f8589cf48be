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
