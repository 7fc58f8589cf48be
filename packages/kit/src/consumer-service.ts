import type { DatabaseEnv } from '@pipeline/db';
import { alertDeadLetter, type Pool, recordOutcome } from '@pipeline/db';
import {
  type ConsumerEnv,
  ConsumerRunner,
  type HandlerContext,
  type HandlerResult,
  type KafkaEnv,
  retentionConfig,
  type TopicEnv,
} from '@pipeline/kafka';
import type { ServiceContext, StartedService } from '@pipeline/runtime';
import { bundledSchemas, type DecodedChange, EnvelopeDecoder, SchemaResolver } from '@pipeline/schemas';
import { type Backends, connectBackends } from './backends';

/** What a consumer service's handler gets besides the change: where it came from, the deadline, the pool. */
export interface ChangeContext extends HandlerContext {
  /** The event's id (every change envelope has one). */
  eventId: string;
  pool: Pool;
}

export interface ConsumerServiceSpec<Row> {
  /** The service's name: its consumer group, retry topics `<service>.retry.N`, dead-letter topic `<service>.dlq`. */
  service: string;
  /** The cdc topics it reads, for example `cdc.public.orders`. */
  topics: readonly string[];
  /**
   * Handles one change. Throw a PipelineError saying whether a retry can help; return `skipped`
   * when the change had been handled before (processOnce / applyWithCheckpoint say so).
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: a handler that returns nothing has processed the change.
  handle: (change: DecodedChange<Row>, context: ChangeContext) => Promise<HandlerResult | void>;
}

type ConsumerServiceConfig = DatabaseEnv & KafkaEnv & TopicEnv & ConsumerEnv;

export interface StartedConsumerService<Row> extends StartedService {
  runner: ConsumerRunner<DecodedChange<Row>>;
  backends: Backends;
}

/**
 * A consumer service in a few lines: decodes change envelopes (bundled schemas, then the schema
 * topic), validates them, runs the handler with the retry ladder and dead-letter topic, records
 * every outcome in `event_outcomes`, and stops within SHUTDOWN_GRACE_MS on SIGTERM.
 */
export async function startConsumerService<Row>(
  { config, logger, registry }: ServiceContext<ConsumerServiceConfig>,
  spec: ConsumerServiceSpec<Row>,
): Promise<StartedConsumerService<Row>> {
  const backends = connectBackends(spec.service, config, logger);
  const { pool, kafka } = backends;
  const resolver = new SchemaResolver({
    kafka,
    topic: config.SCHEMA_TOPIC,
    bundled: bundledSchemas(),
    onSkipped: (reason) => logger.warn({ reason }, `skipped a record of ${config.SCHEMA_TOPIC} that is not a schema`),
  });
  const decoder = new EnvelopeDecoder(resolver.resolve);
  const runner = new ConsumerRunner<DecodedChange<Row>>({
    kafka,
    service: spec.service,
    ...(config.CONSUMER_GROUP ? { groupId: config.CONSUMER_GROUP } : {}),
    topics: spec.topics,
    retry: { service: spec.service, delaysMs: config.RETRY_DELAYS_MS },
    decode: (value) => decoder.decode<Row>(value),
    eventIdOf: (change) => change.envelope.eventId,
    eventTimeMs: (change) => Date.parse(change.envelope.source.commitTs),
    handle: (change, context) => spec.handle(change, { ...context, eventId: context.eventId ?? change.envelope.eventId, pool }),
    handlerTimeoutMs: config.HANDLER_TIMEOUT_MS,
    sessionTimeoutMs: config.CONSUMER_SESSION_TIMEOUT_MS,
    shutdownGraceMs: config.SHUTDOWN_GRACE_MS,
    partitionsConsumedConcurrently: config.CONSUMER_CONCURRENCY,
    replicationFactor: config.KAFKA_TOPIC_REPLICATION_FACTOR,
    topicConfig: retentionConfig(config.KAFKA_TOPIC_RETENTION_MS),
    logger,
    registry,
    onOutcome: async (outcome, context, error) => {
      await recordOutcome(pool, {
        service: spec.service,
        // Bytes that never decoded have no id: the trail names their position instead.
        eventId: context.eventId ?? `${context.topic}/${context.partition}@${context.offset}`,
        topic: context.topic,
        partition: context.partition,
        offset: context.offset,
        outcome,
        attempt: context.attempt,
        ...(error ? { error: `${error.code}: ${error.message}` } : {}),
      });
      if (outcome === 'dead_lettered' && error) {
        await alertDeadLetter(
          pool,
          {
            service: spec.service,
            errorCode: error.code,
            errorMessage: error.message,
            topic: context.topic,
            partition: context.partition,
            offset: context.offset,
            ...(context.eventId ? { eventId: context.eventId } : {}),
          },
          config.DLQ_ALERT_WINDOW_MS,
        ).catch((failure: unknown) => logger.warn({ err: failure }, 'could not write the admins’ dead-letter notification'));
      }
    },
  });
  try {
    await runner.start();
  } catch (error) {
    await runner.stop(0).catch(() => undefined);
    await backends.close();
    throw error;
  }
  return {
    runner,
    backends,
    readinessChecks: backends.readinessChecks,
    stop: async () => {
      await runner.stop();
      await backends.close();
    },
  };
}
