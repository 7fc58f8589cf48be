import { compactedTopics, ensureSchemaTopic, ensureTopics, readTopicLimits, retentionConfig } from '@pipeline/kafka';
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

/** What the reader needs to know of the topics it writes. */
export interface ReaderTopics {
  /** Partition count of each table's topic (truncates and end-of-snapshot records go to each), the transaction and dead-letter topics'. */
  partitions: Map<string, number>;
  /** max.message.bytes of every topic the reader writes records to. */
  limits: Map<string, number>;
  /** The table topics whose cleanup.policy compacts them (keep the latest record per key). */
  compacted: Set<string>;
}

/**
 * Every captured table's topic (and the transaction topic), the dead-letter topic and the schema
 * topic, created before streaming (consumers wait for them); then what the brokers say of them:
 * each table topic's partition count, and each topic's max.message.bytes (read anew every
 * session, so a limit raised after a refusal counts at the next one).
 */
export async function ensureReaderTopics(kafka: Kafka, spec: ReaderTopicsSpec): Promise<ReaderTopics> {
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
    const metadata = await admin.fetchTopicMetadata({ topics: [...topics, spec.deadLetterTopic] });
    return {
      partitions: new Map(metadata.topics.map((topic) => [topic.name, topic.partitions.length])),
      limits: await readTopicLimits(admin, [...topics, spec.deadLetterTopic]),
      compacted: await compactedTopics(admin, topics),
    };
  } finally {
    await admin.disconnect();
  }
}
