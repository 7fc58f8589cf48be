import { databaseEnvSchema } from '@pipeline/db';
import { checkConsumerEnv, checkKafkaEnv, consumerEnvSchema, kafkaEnvSchema, topicEnvSchema } from '@pipeline/kafka';
import { envFields, runtimeEnvSchema } from '@pipeline/runtime';
import { DEFAULT_TOPIC_PREFIX, SCHEMA_TOPIC } from '@pipeline/schemas';
import { z } from 'zod';
import { makeSchedule } from './jobs/schedule';

/** `<prefix>` of the cdc topics `<prefix>.<schema>.<table>`: the reader and every consumer read the same variable. */
export const cdcTopicPrefixField = () =>
  z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, { error: 'expected letters, digits, _ or - (a Kafka topic name part)' })
    .default(DEFAULT_TOPIC_PREFIX);

/** What a consumer service reads besides its Kafka consumer settings: where the changes and their schemas are, and alerting. */
export const kitEnvSchema = z.object({
  CDC_TOPIC_PREFIX: cdcTopicPrefixField().describe("Topics are <prefix>.<schema>.<table>; the cdc-reader's variable and default."),
  SCHEMA_TOPIC: z.string().min(1).default(SCHEMA_TOPIC).describe('The compacted topic the cdc-reader publishes its writer schemas to.'),
  DLQ_ALERT_WINDOW_MS: envFields
    .positiveInt(900_000, 7 * 24 * 3_600_000)
    .describe(
      'At most one admin notification per service, consumer group and error code within this window (the webhook-dispatcher: per subscription for dead deliveries), ms.',
    ),
  BOOKKEEPING_RETENTION_DAYS: envFields
    .positiveInt(30)
    .describe("The daily prune-bookkeeping job deletes the service's event_outcomes and job_runs older than this, days."),
  MAX_BATCH_SIZE: envFields.positiveInt(500).describe("Most changes a batch handler (a projection's) applies in one transaction."),
  BOOKKEEPING_PRUNE_CRON: z
    .string()
    .min(1)
    .default('20 3 * * *')
    .describe('When prune-bookkeeping runs: five cron fields in BOOKKEEPING_PRUNE_TZ.'),
  BOOKKEEPING_PRUNE_TZ: z.string().min(1).default('UTC').describe('The IANA time zone of BOOKKEEPING_PRUNE_CRON.'),
});

/** A schedule that cannot be read stops the service at start, naming the variable. */
function checkKitEnv(env: z.output<typeof kitEnvSchema>, ctx: z.RefinementCtx): void {
  try {
    makeSchedule(env.BOOKKEEPING_PRUNE_CRON, env.BOOKKEEPING_PRUNE_TZ);
  } catch (error) {
    ctx.addIssue({ code: 'custom', path: ['BOOKKEEPING_PRUNE_CRON'], message: (error as Error).message });
  }
}

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
export function consumerServiceEnvSchema(defaults: { httpPort: number; latencyTargetMs?: number }) {
  return serviceEnvSchema(defaults)
    .extend(consumerEnvSchema.shape)
    .extend(kitEnvSchema.shape)
    .extend({
      LATENCY_TARGET_MS: envFields
        .positiveInt(defaults.latencyTargetMs ?? 1_000)
        .describe(
          "The end-to-end latency (commit to handled) the service's p99 should stay under, ms: exported as `consumer_event_age_target_seconds`, which the latency alert and dashboards compare with. Default: the service's.",
        ),
    })
    .superRefine(checkConsumerEnv)
    .superRefine(checkKitEnv);
}

export type ConsumerServiceConfig = z.output<ReturnType<typeof consumerServiceEnvSchema>>;
