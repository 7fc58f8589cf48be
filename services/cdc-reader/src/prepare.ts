import { loadMigrations, migrate, setReaderPassword } from '@pipeline/db';
import { connectBackends } from '@pipeline/kit';
import type { ServiceContext, StartedService } from '@pipeline/runtime';
import pg from 'pg';
import { publishedTables } from './catalog';
import { type Config, SERVICE } from './config';
import { ensureReaderTopics } from './topics';

/**
 * `node dist/main.js prepare`: what must exist before the pipeline runs, done once (a deploy's
 * one-shot step, compose's `init` service): the migrations, applied as DATABASE_URL's role (the
 * owner, not the reader role), the reader role's password when CDC_READER_PASSWORD is set, and
 * every topic the reader writes (each captured table's, the dead-letter and schema topics).
 * Running it again changes nothing.
 */
export async function startPrepare({ config, logger }: ServiceContext<Config>): Promise<StartedService> {
  const backends = connectBackends(SERVICE, config, logger);
  const task = (async () => {
    const client = new pg.Client({ connectionString: config.DATABASE_URL, application_name: `${SERVICE}:prepare` });
    await client.connect();
    let applied: string[];
    try {
      const result = await migrate(client, loadMigrations(), (m) => logger.info(`applied migration ${m.version} ${m.name}`));
      applied = result.applied.map((m) => `${String(m.version).padStart(4, '0')}_${m.name}`);
      if (config.CDC_READER_PASSWORD) await setReaderPassword(client, config.CDC_READER_PASSWORD);
    } finally {
      await client.end();
    }
    const tables = await publishedTables(backends.pool, config.CDC_PUBLICATION);
    const topics = await ensureReaderTopics(backends.kafka, {
      topicPrefix: config.CDC_TOPIC_PREFIX,
      tables,
      ...(config.CDC_TRANSACTION_TOPIC ? { transactionsTopic: `${config.CDC_TOPIC_PREFIX}.transactions` } : {}),
      partitions: config.CDC_TOPIC_PARTITIONS,
      replicationFactor: config.KAFKA_TOPIC_REPLICATION_FACTOR,
      retentionMs: config.KAFKA_TOPIC_RETENTION_MS,
      deadLetterTopic: config.CDC_DLQ_TOPIC,
      schemaTopic: config.CDC_SCHEMA_TOPIC,
    });
    logger.info({ applied: applied.length, topics: topics.partitions.size }, 'prepared: migrations applied and topics created');
    return { ok: true, result: { migrationsApplied: applied, topics: [...topics.partitions.keys()].sort() } };
  })();
  return { readinessChecks: {}, stop: () => backends.close(), task };
}
