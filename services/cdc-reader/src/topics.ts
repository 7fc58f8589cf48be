import { ensureSchemaTopic, ensureTopics, retentionConfig } from '@pipeline/kafka';
import { cdcTopic } from '@pipeline/schemas';
import type { Kafka } from 'kafkajs';
import type { PublishedTable } from './catalog';

export interface ReaderTopicsSpec {
  topicPrefix: string;
  tables: readonly PublishedTable[];
  /** Also `<prefix>.transactions` (CDC_TRANSACTION_TOPIC). */
  transactionsTopic?: string;
  partitions: number;
  replicationFactor: number;
  /** retention.ms of created topics; -1 keeps history. */
  retentionMs: number;
  deadLetterTopic: string;
  schemaTopic: string;
}

/**
 * Every captured table's topic (and the transaction topic), the dead-letter topic and the schema
 * topic, created before streaming (consumers wait for them). Returns the partition count of each
 * table's topic, which truncates are sent to.
 */
export async function ensureReaderTopics(kafka: Kafka, spec: ReaderTopicsSpec): Promise<Map<string, number>> {
  const topics = spec.tables.map((t) => cdcTopic(spec.topicPrefix, `${t.schema}.${t.table}`));
  if (spec.transactionsTopic) topics.push(spec.transactionsTopic);
  const admin = kafka.admin();
  await admin.connect();
  try {
    const configEntries = retentionConfig(spec.retentionMs);
    await ensureTopics(admin, [
      ...topics.map((topic) => ({ topic, numPartitions: spec.partitions, replicationFactor: spec.replicationFactor, configEntries })),
      { topic: spec.deadLetterTopic, numPartitions: 1, replicationFactor: spec.replicationFactor, configEntries },
    ]);
    await ensureSchemaTopic(admin, spec.schemaTopic, spec.replicationFactor);
    const metadata = await admin.fetchTopicMetadata({ topics });
    return new Map(metadata.topics.map((topic) => [topic.name, topic.partitions.length]));
  } finally {
    await admin.disconnect();
  }
}
