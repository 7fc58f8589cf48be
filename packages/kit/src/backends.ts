import { type DatabaseEnv, databaseReadiness, makePool, type Pool } from '@pipeline/db';
import { type KafkaEnv, kafkaReadiness, makeKafka, toKafkaConfig } from '@pipeline/kafka';
import type { Logger, ReadinessCheck } from '@pipeline/runtime';
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
