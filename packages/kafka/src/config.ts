import { readFileSync } from 'node:fs';
import { envFields } from '@pipeline/runtime';
import type { KafkaConfig, SASLOptions } from 'kafkajs';
import { z } from 'zod';

const brokerList = z
  .string({ error: 'expected a comma-separated list of host:port' })
  .transform((value) =>
    value
      .split(',')
      .map((b) => b.trim())
      .filter((b) => b.length > 0),
  )
  .refine((brokers) => brokers.length > 0, { error: 'expected at least one broker as host:port' })
  .refine((brokers) => brokers.every((b) => /^[^\s:]+:\d{1,5}$/.test(b)), {
    error: 'expected each broker as host:port, for example 127.0.0.1:19092',
  });

/**
 * Kafka connection settings. A production cluster (TLS, SASL PLAIN or SCRAM) is reached by
 * configuration alone.
 */
export const kafkaEnvSchema = z.object({
  KAFKA_BROKERS: brokerList
    .default(['127.0.0.1:19092'])
    .describe("Bootstrap brokers, comma-separated host:port. Default: the local stack's 127.0.0.1:19092."),
  KAFKA_CLIENT_ID: z.string().min(1).optional().describe('Client id sent to the brokers (quotas, broker logs). Default: the service name.'),
  KAFKA_SSL: envFields.boolean(false).describe('Use TLS to reach the brokers.'),
  KAFKA_SSL_CA_FILE: z.string().min(1).optional().describe("PEM file with the CA that signed the brokers' certificates (TLS)."),
  KAFKA_SSL_CERT_FILE: z.string().min(1).optional().describe('PEM client certificate for mutual TLS.'),
  KAFKA_SSL_KEY_FILE: z.string().min(1).optional().describe('PEM client key for mutual TLS.'),
  KAFKA_SSL_REJECT_UNAUTHORIZED: envFields.boolean(true).describe("Verify the brokers' certificates."),
  KAFKA_SASL_MECHANISM: z
    .enum(['plain', 'scram-sha-256', 'scram-sha-512'], {
      error: 'expected one of plain, scram-sha-256, scram-sha-512',
    })
    .optional()
    .describe('SASL mechanism: plain, scram-sha-256 or scram-sha-512. Unset: no SASL.'),
  KAFKA_SASL_USERNAME: z.string().min(1).optional().describe('SASL user name (with KAFKA_SASL_MECHANISM).'),
  KAFKA_SASL_PASSWORD: z.string().min(1).optional().describe('SASL password (with KAFKA_SASL_MECHANISM). Never logged.'),
  KAFKA_CONNECTION_TIMEOUT_MS: envFields.positiveInt(10_000).describe('Broker connection timeout, in milliseconds.'),
  KAFKA_REQUEST_TIMEOUT_MS: envFields.positiveInt(30_000).describe('Request timeout, in milliseconds.'),
});

export type KafkaEnv = z.output<typeof kafkaEnvSchema>;

/** Cross-field rules for the Kafka settings; add to a service schema with `.superRefine`. */
export function checkKafkaEnv(env: KafkaEnv, ctx: z.RefinementCtx): void {
  if (env.KAFKA_SASL_MECHANISM) {
    for (const key of ['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD'] as const) {
      if (!env[key]) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `required when KAFKA_SASL_MECHANISM is ${env.KAFKA_SASL_MECHANISM}`,
        });
      }
    }
  }
  if (Boolean(env.KAFKA_SSL_CERT_FILE) !== Boolean(env.KAFKA_SSL_KEY_FILE)) {
    ctx.addIssue({
      code: 'custom',
      path: [env.KAFKA_SSL_CERT_FILE ? 'KAFKA_SSL_KEY_FILE' : 'KAFKA_SSL_CERT_FILE'],
      message: 'KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE go together (mutual TLS)',
    });
  }
  const tlsFileSet = env.KAFKA_SSL_CA_FILE || env.KAFKA_SSL_CERT_FILE;
  if (tlsFileSet && !env.KAFKA_SSL) {
    ctx.addIssue({ code: 'custom', path: ['KAFKA_SSL'], message: 'must be true when a KAFKA_SSL_*_FILE is set' });
  }
}

/** Reads files lazily so a missing certificate is reported with its variable name. */
type ReadFile = (path: string) => string;

/** Maps validated settings to kafkajs's client config. */
export function toKafkaConfig(env: KafkaEnv, clientId: string, readFile: ReadFile = readPem): KafkaConfig {
  const config: KafkaConfig = {
    clientId: env.KAFKA_CLIENT_ID ?? clientId,
    brokers: env.KAFKA_BROKERS,
    connectionTimeout: env.KAFKA_CONNECTION_TIMEOUT_MS,
    requestTimeout: env.KAFKA_REQUEST_TIMEOUT_MS,
  };
  if (env.KAFKA_SSL) {
    config.ssl = {
      rejectUnauthorized: env.KAFKA_SSL_REJECT_UNAUTHORIZED,
      ...(env.KAFKA_SSL_CA_FILE ? { ca: [readFile(env.KAFKA_SSL_CA_FILE)] } : {}),
      ...(env.KAFKA_SSL_CERT_FILE ? { cert: readFile(env.KAFKA_SSL_CERT_FILE) } : {}),
      ...(env.KAFKA_SSL_KEY_FILE ? { key: readFile(env.KAFKA_SSL_KEY_FILE) } : {}),
    };
  }
  if (env.KAFKA_SASL_MECHANISM && env.KAFKA_SASL_USERNAME && env.KAFKA_SASL_PASSWORD) {
    const sasl: SASLOptions = {
      mechanism: env.KAFKA_SASL_MECHANISM,
      username: env.KAFKA_SASL_USERNAME,
      password: env.KAFKA_SASL_PASSWORD,
    } as SASLOptions;
    config.sasl = sasl;
  }
  return config;
}

function readPem(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`cannot read TLS file ${path}: ${(error as Error).message}; check the KAFKA_SSL_*_FILE variables`, {
      cause: error,
    });
  }
}

/** Settings of the topics a service creates (retry, dead-letter, cdc). */
export const topicEnvSchema = z.object({
  KAFKA_TOPIC_REPLICATION_FACTOR: envFields
    .positiveInt(1)
    .describe('Replication factor of created topics. 1 suits the local single-node broker; 3 in production.'),
  KAFKA_TOPIC_RETENTION_MS: z.coerce
    .number({ error: 'expected milliseconds, or -1 for unlimited' })
    .int({ error: 'expected a whole number of milliseconds' })
    .min(-1, { error: 'expected milliseconds, or -1 for unlimited' })
    .default(-1)
    .describe('retention.ms of created topics; -1 keeps history forever (docs/architecture.md).'),
});

export type TopicEnv = z.output<typeof topicEnvSchema>;

/** The Kafka consumer's settings (group, retry ladder, deadlines, concurrency) every consumer service shares. */
export const consumerEnvSchema = z.object({
  CONSUMER_GROUP: z
    .string()
    .min(1)
    .optional()
    .describe(
      'Consumer group id; also names its retry, dead-letter and redrive topics (<group>.retry.N, <group>.dlq, <group>.redrive). Default: the service name.',
    ),
  RETRY_DELAYS_MS: z
    .string()
    .default('5000,60000,600000')
    .transform((value) => value.split(',').map((part) => Number(part.trim())))
    .refine((delays) => delays.length > 0 && delays.every((d) => Number.isInteger(d) && d > 0), {
      error: 'expected comma-separated positive whole milliseconds, for example 5000,60000,600000',
    })
    .describe('Delays of the retry topics, comma-separated milliseconds: one retry topic per entry.'),
  HANDLER_TIMEOUT_MS: envFields.positiveInt(10_000).describe('Deadline of one handler call, ms; below CONSUMER_SESSION_TIMEOUT_MS.'),
  CONSUMER_SESSION_TIMEOUT_MS: envFields
    .positiveInt(30_000)
    .describe('How long a consumer that died without leaving keeps its partitions, ms (broker range 6000–300000).'),
  CONSUMER_CONCURRENCY: envFields.positiveInt(3).describe('Partitions handled at once per consumer (order holds within each).'),
  SHUTDOWN_GRACE_MS: envFields
    .positiveInt(5_000)
    .describe(
      'On SIGTERM, how long in-flight handlers may finish before they are abandoned (and redelivered), ms; below SHUTDOWN_TIMEOUT_MS.',
    ),
});

export type ConsumerEnv = z.output<typeof consumerEnvSchema>;

/**
 * Cross-field rules of the consumer settings: the handler deadline below the session timeout
 * (kafkajs heartbeats only between messages), the shutdown grace below the shutdown deadline.
 */
export function checkConsumerEnv(env: ConsumerEnv & { SHUTDOWN_TIMEOUT_MS?: number }, ctx: z.RefinementCtx): void {
  if (env.HANDLER_TIMEOUT_MS >= env.CONSUMER_SESSION_TIMEOUT_MS) {
    ctx.addIssue({
      code: 'custom',
      path: ['HANDLER_TIMEOUT_MS'],
      message: `must be below CONSUMER_SESSION_TIMEOUT_MS (${env.CONSUMER_SESSION_TIMEOUT_MS}), or the group takes partitions away from a handler still at work`,
    });
  }
  if (env.SHUTDOWN_TIMEOUT_MS !== undefined && env.SHUTDOWN_GRACE_MS >= env.SHUTDOWN_TIMEOUT_MS) {
    ctx.addIssue({
      code: 'custom',
      path: ['SHUTDOWN_GRACE_MS'],
      message: `must be below SHUTDOWN_TIMEOUT_MS (${env.SHUTDOWN_TIMEOUT_MS}), leaving time to commit offsets and leave the group`,
    });
  }
}
