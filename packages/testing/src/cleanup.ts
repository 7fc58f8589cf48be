import type { Kafka } from 'kafkajs';

/**
 * Topics the tests and benchmarks create carry a unique suffix (uniqueName). Names of this shape
 * are removed after a run so a long-lived broker does not keep every run's history forever
 * (test topics keep unlimited retention, like the real ones). The pipeline's own topics
 * (`cdc.public.orders`, `_pipeline.schemas`, `<service>.retry.N`) never match.
 */
export const TEST_TOPIC = /^(cdc_|svc_|bench_|test[._-]|_pipeline\.(schemas|cdc\.dlq)\.).*[0-9a-f]{10}/;

export async function deleteTestTopics(kafka: Kafka): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((topic) => TEST_TOPIC.test(topic));
    for (let i = 0; i < topics.length; i += 100) await admin.deleteTopics({ topics: topics.slice(i, i + 100), timeout: 30_000 });
    return topics.length;
  } finally {
    await admin.disconnect();
  }
}
