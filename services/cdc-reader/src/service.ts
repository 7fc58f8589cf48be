import { connectBackends } from '@pipeline/kit';
import { EXIT_CODES, type ServiceContext, type StartedService, UnrecoverableError } from '@pipeline/runtime';
import { CompressionTypes } from 'kafkajs';
import { type Config, SERVICE } from './config';
import { makeReaderMetrics } from './metrics';
import { startPrepare } from './prepare';
import { CdcReader } from './reader';

/** Streams the publication's changes into Kafka until SIGTERM; /readyz is ready while a session streams. */
export async function start(context: ServiceContext<Config>): Promise<StartedService> {
  if (context.task?.name === 'prepare') return startPrepare(context);
  const { config, logger, registry } = context;
  const backends = connectBackends(SERVICE, config, logger);
  const reader = new CdcReader({
    pool: backends.pool,
    connection: { connectionString: config.DATABASE_URL, application_name: `${SERVICE}:${config.CDC_SLOT_NAME}` },
    kafka: backends.kafka,
    logger,
    metrics: makeReaderMetrics(registry),
    slot: config.CDC_SLOT_NAME,
    publication: config.CDC_PUBLICATION,
    topicPrefix: config.CDC_TOPIC_PREFIX,
    topicPartitions: config.CDC_TOPIC_PARTITIONS,
    topicReplicationFactor: config.KAFKA_TOPIC_REPLICATION_FACTOR,
    topicRetentionMs: config.KAFKA_TOPIC_RETENTION_MS,
    schemaTopic: config.CDC_SCHEMA_TOPIC,
    deadLetterTopic: config.CDC_DLQ_TOPIC,
    heartbeatIntervalMs: config.CDC_HEARTBEAT_INTERVAL_MS,
    maxInFlightBytes: config.CDC_MAX_IN_FLIGHT_BYTES,
    lingerMs: config.CDC_LINGER_MS,
    reconnectMaxDelayMs: config.CDC_RECONNECT_MAX_DELAY_MS,
    slotLagPollMs: config.CDC_SLOT_LAG_POLL_MS,
    snapshotMode: config.CDC_SNAPSHOT_MODE,
    snapshotPageRows: config.CDC_SNAPSHOT_PAGE_ROWS,
    allowNewSnapshot: config.CDC_ALLOW_NEW_SNAPSHOT,
    standbyPollMs: config.CDC_STANDBY_POLL_MS,
    transactionTopic: config.CDC_TRANSACTION_TOPIC,
    ...(config.KAFKA_COMPRESSION === 'gzip' ? { compression: CompressionTypes.GZIP } : {}),
    onFatal: (error) => {
      // A condition that needs a person (a vanished or lost slot, a refusal no retry passes, a snapshot
      // that keeps failing): 78, on which a supervisor gives up instead of restarting the reader in a loop.
      const code = error instanceof UnrecoverableError ? EXIT_CODES.config : EXIT_CODES.failed;
      process.exitCode = code;
      void reader
        .stop()
        .then(() => backends.close())
        .finally(() => process.exit(code));
    },
  });
  reader.start();
  return {
    readinessChecks: {
      ...backends.readinessChecks,
      replication: async () => {
        if (!reader.isStreaming) throw new Error('not streaming from the replication slot (see the logs)');
      },
    },
    stop: async () => {
      await reader.stop();
      await backends.close();
    },
  };
}
