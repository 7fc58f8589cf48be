import { databaseEnvSchema } from '@pipeline/db';
import { consumerEnvSchema, kafkaEnvSchema, topicEnvSchema } from '@pipeline/kafka';
import { runtimeEnvSchema } from '@pipeline/runtime';

/** The settings every service shares: runtime, database, Kafka and the topics it creates. */
export function serviceEnvSchema(defaults: { httpPort: number }) {
  return runtimeEnvSchema(defaults).extend(databaseEnvSchema.shape).extend(kafkaEnvSchema.shape).extend(topicEnvSchema.shape);
}

/** serviceEnvSchema plus the consumer settings (group, retry ladder). */
export function consumerServiceEnvSchema(defaults: { httpPort: number }) {
  return serviceEnvSchema(defaults).extend(consumerEnvSchema.shape);
}
