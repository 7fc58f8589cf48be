import { databaseEnvSchema } from '@pipeline/db';
import { checkConsumerEnv, checkKafkaEnv, consumerEnvSchema, kafkaEnvSchema, topicEnvSchema } from '@pipeline/kafka';
import { envFields, runtimeEnvSchema } from '@pipeline/runtime';
import { DEFAULT_TOPIC_PREFIX, SCHEMA_TOPIC } from '@pipeline/schemas';
import { z } from 'zod';

/** `<prefix>` of the cdc topics `<prefix>.<schema>.<table>`: the reader and every consumer read the same variable. */
export const cdcTopicPrefixField = () =>
  z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, { error: 'expected letters, digits, _ or - (a Kafka topic name part)' })
    .default(DEFAULT_TOPIC_PREFIX);

/** What a consumer service reads besides its Kafka consumer settings: where the changes and their schemas are, and alerting. */
export const kitEnvSchema = z.object({
  /** Topics are <prefix>.<schema>.<table>; the cdc-reader's variable and default. Default cdc. */
  CDC_TOPIC_PREFIX: cdcTopicPrefixField(),
  /** The compacted topic the cdc-reader publishes its writer schemas to. Default _pipeline.schemas. */
  SCHEMA_TOPIC: z.string().min(1).default(SCHEMA_TOPIC),
  /** At most one admin notification per service, consumer group and error code within this window, ms. Default 900000 (15 min). */
  DLQ_ALERT_WINDOW_MS: envFields.positiveInt(900_000),
});

/**
 * The settings every service shares (runtime, database, Kafka, the topics it creates), with their
 * cross-field checks. A service adds its own fields with `.extend({...})`; the checks carry over.
 */
export function serviceEnvSchema(defaults: { httpPort: number }) {
  return runtimeEnvSchema(defaults)
    .extend(databaseEnvSchema.shape)
    .extend(kafkaEnvSchema.shape)
    .extend(topicEnvSchema.shape)
    .superRefine(checkKafkaEnv);
}

/**
 * Everything a consumer service needs, checks included (the handler deadline below the session
 * timeout, the shutdown grace below the shutdown deadline). A service extends it with its own
 * fields and nothing else:
 *
 *   export const configSchema = consumerServiceEnvSchema({ httpPort: 9103 }).extend({ MY_SETTING: … });
 */
export function consumerServiceEnvSchema(defaults: { httpPort: number }) {
  return serviceEnvSchema(defaults).extend(consumerEnvSchema.shape).extend(kitEnvSchema.shape).superRefine(checkConsumerEnv);
}

export type ConsumerServiceConfig = z.output<ReturnType<typeof consumerServiceEnvSchema>>;
