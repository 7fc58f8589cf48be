import { type DatabaseEnv, databaseEnvSchema, databaseReadiness, makePool, type Pool } from '@pipeline/db';
import {
  consumerEnvSchema,
  type KafkaEnv,
  kafkaEnvSchema,
  kafkaReadiness,
  makeKafka,
  toKafkaConfig,
  topicEnvSchema,
} from '@pipeline/kafka';
import { type Logger, type ReadinessCheck, runtimeEnvSchema } from '@pipeline/runtime';
import type { Kafka } from 'kafkajs';

/** The connections every service holds. */
export interface Backends {
  pool: Pool;
  kafka: Kafka;
  /** For /readyz: the database answers a query, the Kafka cluster answers a metadata request. */
  readinessChecks: Record<string, ReadinessCheck>;
  /** Closes the connections; call last in a service's stop(). */
  close(): Promise<void>;
}

/** Opens a service's database pool and Kafka client from its validated configuration. */
export function connectBackends(service: string, config: DatabaseEnv & KafkaEnv, logger: Logger): Backends {
  const pool = makePool({ connectionString: config.DATABASE_URL, applicationName: service, max: config.DATABASE_POOL_MAX }, (error) =>
    logger.warn({ err: error }, 'an idle database connection failed; the pool will open a new one'),
  );
  const kafka = makeKafka(toKafkaConfig(config, service), logger);
  const kafkaCheck = kafkaReadiness(kafka);
  return {
    pool,
    kafka,
    readinessChecks: { database: databaseReadiness(pool), kafka: kafkaCheck.check },
    close: async () => {
      await kafkaCheck.close();
      await pool.end();
    },
  };
}

/** The settings every service shares: runtime, database, Kafka and the topics it creates. */
export function serviceEnvSchema(defaults: { httpPort: number }) {
  return runtimeEnvSchema(defaults).extend(databaseEnvSchema.shape).extend(kafkaEnvSchema.shape).extend(topicEnvSchema.shape);
}

/** serviceEnvSchema plus the consumer settings (group, retry ladder). */
export function consumerServiceEnvSchema(defaults: { httpPort: number }) {
  return serviceEnvSchema(defaults).extend(consumerEnvSchema.shape);
}
