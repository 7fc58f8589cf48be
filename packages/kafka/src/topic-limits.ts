import { type Admin, ConfigResourceTypes } from 'kafkajs';

/** Kafka's default `max.message.bytes` (the broker's `message.max.bytes`): used when a topic does not say. */
export const DEFAULT_MAX_MESSAGE_BYTES = 1_048_588;

/**
 * Each topic's `max.message.bytes`: the largest record batch the brokers accept on it (the
 * topic's own setting, else the brokers' `message.max.bytes`, as describeConfigs reports it).
 */
export async function readTopicLimits(admin: Admin, topics: readonly string[]): Promise<Map<string, number>> {
  const limits = new Map<string, number>();
  if (topics.length === 0) return limits;
  const { resources } = await admin.describeConfigs({
    includeSynonyms: false,
    resources: topics.map((name) => ({ type: ConfigResourceTypes.TOPIC, name, configNames: ['max.message.bytes'] })),
  });
  for (const resource of resources) {
    const entry = resource.configEntries.find((e) => e.configName === 'max.message.bytes');
    const bytes = Number(entry?.configValue);
    limits.set(resource.resourceName, Number.isSafeInteger(bytes) && bytes > 0 ? bytes : DEFAULT_MAX_MESSAGE_BYTES);
  }
  for (const topic of topics) if (!limits.has(topic)) limits.set(topic, DEFAULT_MAX_MESSAGE_BYTES);
  return limits;
}

/** The topics among `topics` whose cleanup.policy includes compact (`compact` or `compact,delete`). */
export async function compactedTopics(admin: Admin, topics: readonly string[]): Promise<Set<string>> {
  if (topics.length === 0) return new Set();
  const { resources } = await admin.describeConfigs({
    includeSynonyms: false,
    resources: topics.map((name) => ({ type: ConfigResourceTypes.TOPIC, name, configNames: ['cleanup.policy'] })),
  });
  const compacted = new Set<string>();
  for (const resource of resources) {
    const policy = resource.configEntries.find((e) => e.configName === 'cleanup.policy')?.configValue ?? '';
    if (policy.split(',').some((p) => p.trim() === 'compact')) compacted.add(resource.resourceName);
  }
  return compacted;
}
