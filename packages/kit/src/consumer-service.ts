import {
  alertDeadLetter,
  applyBatchWithCheckpoint,
  applyWithCheckpoint,
  isDatabaseAway,
  performEffect,
  processOnce,
  recordOutcome,
  recordOutcomes,
} from '@pipeline/db';
import { type BatchEvent, ConsumerRunner, type HandlerContext, type HandlerResult, retentionConfig, SchemaResolver } from '@pipeline/kafka';
import type { Clock, ServiceContext, StartedService, TaskOutcome } from '@pipeline/runtime';
import { bundledSchemas, type Change, cdcTopic, EnvelopeDecoder, isSnapshotEnd, type SnapshotEnd, toChange } from '@pipeline/schemas';
import { Gauge } from 'prom-client';
import { type Backends, connectBackends } from './backends';
import { bookkeepingJob, bookkeepingMetrics } from './bookkeeping';
import type { ConsumerServiceConfig } from './config';
import {
  type BatchHandlers,
  type BatchItem,
  type CdcEvent,
  type ChangeContext,
  type ChangeHandlers,
  handlerFor,
  type SnapshotEndHandler,
  type SnapshotEndHandlers,
  subjectsOf,
} from './handlers';
import { type JobHost, type JobSpec, runJobNow, type ScheduledJob, scheduleJob } from './jobs';
import { traceFields } from './trace-fields';

export interface ConsumerServiceSpec<C> {
  /** The service's name: its default consumer group, and who its outcomes and jobs belong to. */
  service: string;
  /**
   * One handler per captured table, keyed `<schema>.<table>`: the service reads exactly those
   * tables' topics (`<CDC_TOPIC_PREFIX>.<schema>.<table>`). An empty map reads nothing.
   */
  handlers: ChangeHandlers<C>;
  /**
   * Optional batch handlers (a projection's): a table listed here has its source partitions'
   * changes applied in batches (MAX_BATCH_SIZE at most); its per-change handler above takes over a
   * batch that fails, one change at a time.
   */
  batchHandlers?: BatchHandlers<C>;
  /**
   * Optional: told when a table's snapshot ended on a partition (a projection drops what that
   * snapshot did not re-read). A service without one never sees those records.
   */
  snapshotEndHandlers?: SnapshotEndHandlers<C>;
  /**
   * Scheduled jobs, run once per occurrence across the service's replicas. Every service also runs
   * `prune-bookkeeping` (BOOKKEEPING_PRUNE_CRON), unless it declares a job of that name itself.
   */
  jobs?: readonly JobSpec[];
  /** The scheduler's clock; tests inject one. */
  clock?: Clock;
  /**
   * True when the service's effects must follow commit order per row: a change that fails because
   * the database is away is tried again in place, holding its partition, instead of taking the
   * retry ladder, which the row's later changes would overtake (the webhook-dispatcher's queue).
   */
  ordered?: boolean;
}

export interface StartedConsumerService extends StartedService {
  /** Undefined when the service has no handlers (and in task mode). */
  runner: ConsumerRunner<CdcEvent> | undefined;
  backends: Backends;
  jobs: readonly ScheduledJob[];
}

/**
 * A consumer service: connects, reads the cdc topics of the tables it has handlers for (waiting,
 * and saying so on /readyz, for topics the cdc-reader has not created yet), decodes and validates
 * each change, runs its table's handler under the retry ladder and dead-letter topic of the
 * service's consumer group, records every outcome, and runs its scheduled jobs. A consumer crash
 * kafkajs will not recover from ends the process (non-zero), for its supervisor to restart it.
 *
 * Started for the task `run-job NAME` (see the runtime's `main`), it consumes nothing: it runs
 * that job once as a manual run and reports the outcome.
 */
export async function startConsumerService<C extends ConsumerServiceConfig>(
  context: ServiceContext<C>,
  spec: ConsumerServiceSpec<C>,
): Promise<StartedConsumerService> {
  const { config, logger, registry } = context;
  const group = config.CONSUMER_GROUP ?? spec.service;
  const backends = connectBackends(spec.service, config, logger);
  const { pool, kafka } = backends;
  const jobHost: JobHost = { service: spec.service, pool, logger, registry, ...(spec.clock ? { clock: spec.clock } : {}) };
  const own = spec.jobs ?? [];
  const jobSpecs = own.some((job) => job.name === bookkeepingJob(config).name) ? own : [...own, bookkeepingJob(config)];

  if (context.task) {
    return {
      runner: undefined,
      backends,
      jobs: [],
      stop: () => backends.close(),
      ...runTask(context.task, spec.service, jobSpecs, jobHost),
    };
  }
  bookkeepingMetrics(registry, pool, group, logger);
  new Gauge({
    name: 'consumer_event_age_target_seconds',
    help: 'The p99 of consumer_event_age_seconds the service should stay under (LATENCY_TARGET_MS)',
    registers: [registry],
  }).set(config.LATENCY_TARGET_MS / 1000);

  const subjects = subjectsOf(spec.handlers);
  let runner: ConsumerRunner<CdcEvent> | undefined;
  let starting: Promise<void> = Promise.resolve();
  let stopping = false;
  if (subjects.length === 0) {
    logger.info('no change handlers: this service consumes nothing');
  } else {
    const resolver = new SchemaResolver({
      kafka,
      topic: config.SCHEMA_TOPIC,
      bundled: bundledSchemas(),
      onSkipped: (reason) => logger.warn({ reason }, `skipped a record of ${config.SCHEMA_TOPIC} that is not a schema`),
    });
    const decoder = new EnvelopeDecoder(resolver.resolve);
    const where = (context: HandlerContext) => ({ service: spec.service, topic: context.topic });
    const ids = { service: spec.service, group };
    const consumerRunner = new ConsumerRunner<CdcEvent>({
      kafka,
      service: spec.service,
      groupId: group,
      topics: subjects.map((subject) => cdcTopic(config.CDC_TOPIC_PREFIX, subject)),
      retry: { delaysMs: config.RETRY_DELAYS_MS },
      decode: async (value) => {
        const decoded = await decoder.decodeEvent(value);
        return isSnapshotEnd(decoded) ? decoded : toChange(decoded);
      },
      eventIdOf: (event) => event.eventId,
      eventTimeMs: (event) => (isSnapshotEnd(event) ? undefined : Date.parse(event.source.commitTs)),
      handle: async (event, runnerContext) => {
        if (isSnapshotEnd(event)) return handleSnapshotEnd(context, ids, spec.snapshotEndHandlers, event, runnerContext, pool);
        const handler = handlerFor(spec.handlers, event, where(runnerContext));
        return (await handler(event, changeContext(context, ids, event, runnerContext, pool))) ?? undefined;
      },
      ...(spec.batchHandlers && Object.keys(spec.batchHandlers).length > 0
        ? {
            handleBatch: (events: readonly BatchEvent<CdcEvent>[], signal: AbortSignal) =>
              applyBatch(context, ids, spec, events, signal, pool),
            maxBatchSize: config.MAX_BATCH_SIZE,
            onOutcomes: (outcomes) =>
              recordOutcomes(
                pool,
                outcomes.map(({ outcome, context: where }) => ({
                  service: spec.service,
                  group,
                  eventId: where.eventId ?? `${where.topic}/${where.partition}@${where.offset}`,
                  topic: where.topic,
                  partition: where.partition,
                  offset: where.offset,
                  outcome,
                  attempt: where.attempt,
                  ...traceFields(config.CDC_TOPIC_PREFIX, where),
                })),
              ),
          }
        : {}),
      ...(spec.ordered ? { holdInPlace: isDatabaseAway } : {}),
      handlerTimeoutMs: config.HANDLER_TIMEOUT_MS,
      sessionTimeoutMs: config.CONSUMER_SESSION_TIMEOUT_MS,
      shutdownGraceMs: config.SHUTDOWN_GRACE_MS,
      partitionsConsumedConcurrently: config.CONSUMER_CONCURRENCY,
      replicationFactor: config.KAFKA_TOPIC_REPLICATION_FACTOR,
      topicConfig: retentionConfig(config.KAFKA_TOPIC_RETENTION_MS),
      logger,
      registry,
      onFatal: (error, message) => context.fatal(error, message),
      onOutcome: async (outcome, outcomeContext, error) => {
        await recordOutcome(pool, {
          service: spec.service,
          group,
          // Bytes that never decoded have no id: the trail names their position instead.
          eventId: outcomeContext.eventId ?? `${outcomeContext.topic}/${outcomeContext.partition}@${outcomeContext.offset}`,
          topic: outcomeContext.topic,
          partition: outcomeContext.partition,
          offset: outcomeContext.offset,
          outcome,
          attempt: outcomeContext.attempt,
          ...(error ? { error: `${error.code}: ${error.message}` } : {}),
          ...traceFields(config.CDC_TOPIC_PREFIX, outcomeContext),
        });
        if (outcome === 'dead_lettered' && error) {
          await alertDeadLetter(
            pool,
            {
              service: spec.service,
              group,
              errorCode: error.code,
              errorMessage: error.message,
              topic: outcomeContext.topic,
              partition: outcomeContext.partition,
              offset: outcomeContext.offset,
              ...(outcomeContext.eventId ? { eventId: outcomeContext.eventId } : {}),
            },
            config.DLQ_ALERT_WINDOW_MS,
          ).catch((failure: unknown) => logger.warn({ err: failure }, 'could not write the admins’ dead-letter notification'));
        }
      },
    });
    runner = consumerRunner;
    // In the background: /readyz says what it waits for meanwhile (a topic the reader has not created yet).
    starting = consumerRunner.start().catch((error: unknown) => {
      if (!stopping) context.fatal(error, 'the consumer could not start');
    });
  }

  let jobs: ScheduledJob[];
  try {
    jobs = await Promise.all(jobSpecs.map((job) => scheduleJob(jobHost, job)));
  } catch (error) {
    stopping = true;
    await runner?.stop(0).catch(() => undefined);
    await starting;
    await backends.close();
    throw error;
  }

  return {
    runner,
    backends,
    jobs,
    readinessChecks: {
      ...backends.readinessChecks,
      consumer: async () => {
        const reason = runner?.notReadyReason;
        if (reason) throw new Error(reason);
      },
    },
    stop: async () => {
      stopping = true;
      await Promise.all(jobs.map((job) => job.stop()));
      await runner?.stop();
      await starting;
      await backends.close();
    },
  };
}

/** The end of a snapshot to the handler registered for its table; `ignored` (no outcome) without one. */
async function handleSnapshotEnd<C>(
  context: ServiceContext<C>,
  ids: { service: string; group: string },
  handlers: SnapshotEndHandlers<C> | undefined,
  end: SnapshotEnd,
  runnerContext: HandlerContext,
  pool: Backends['pool'],
): Promise<HandlerResult> {
  // Indexed by the decoded subject, a string: which table it ends is known only at run time.
  const handler = (handlers as Record<string, SnapshotEndHandler<C> | undefined> | undefined)?.[end.subject];
  if (!handler) return 'ignored';
  return (await handler(end, changeContext(context, ids, end, runnerContext, pool))) ?? 'processed';
}

/** The per-event context: what the handler needs, with the database helpers bound to this event and its deadline. */
function changeContext<C>(
  { config, logger }: ServiceContext<C>,
  { service, group }: { service: string; group: string },
  change: { eventId: string },
  runnerContext: HandlerContext,
  pool: Backends['pool'],
): ChangeContext<C> {
  const { topic, partition, offset, attempt, signal, source } = runnerContext;
  const eventId = runnerContext.eventId ?? change.eventId;
  return {
    service,
    group,
    eventId,
    topic,
    partition,
    offset,
    attempt,
    source,
    signal,
    logger: logger.child({ eventId, topic, partition, offset, attempt }),
    config,
    pool,
    processOnce: (effects) => processOnce(pool, group, eventId, effects, signal),
    applyWithCheckpoint: async (projection, apply) => {
      const result = await applyWithCheckpoint(pool, { projection, topic, partition, offset, eventId, group }, apply, signal);
      return result === 'applied' ? 'processed' : 'skipped';
    },
    performEffect: (effectSpec, perform) => performEffect(pool, effectSpec, perform, signal),
  };
}

/**
 * A batch of one source partition: its changes through their table's batch handler, an end of
 * snapshot among them on its own between the changes before and after it, in order.
 */
async function applyBatch<C>(
  context: ServiceContext<C>,
  ids: { service: string; group: string },
  spec: ConsumerServiceSpec<C>,
  events: readonly BatchEvent<CdcEvent>[],
  signal: AbortSignal,
  pool: Backends['pool'],
): Promise<readonly HandlerResult[]> {
  const results: HandlerResult[] = [];
  let changes: BatchEvent<Change<unknown>>[] = [];
  const flush = async () => {
    if (changes.length > 0) results.push(...(await applyChangeBatch(context, ids, spec.batchHandlers ?? {}, changes, signal, pool)));
    changes = [];
  };
  for (const { event, context: where } of events) {
    if (isSnapshotEnd(event)) {
      await flush();
      results.push(await handleSnapshotEnd(context, ids, spec.snapshotEndHandlers, event, { ...where, signal }, pool));
    } else {
      changes.push({ event, context: where });
    }
  }
  await flush();
  return results;
}

/**
 * Changes of one source partition through their table's batch handler. A batch mixing tables (or
 * of a table without a batch handler) throws: the runner then handles it one change at a time.
 */
async function applyChangeBatch<C>(
  { config, logger }: ServiceContext<C>,
  { service, group }: { service: string; group: string },
  handlers: BatchHandlers<C>,
  events: readonly BatchEvent<Change<unknown>>[],
  signal: AbortSignal,
  pool: Backends['pool'],
): Promise<readonly HandlerResult[]> {
  const first = events[0];
  if (!first) return [];
  const subject = first.event.subject;
  // Indexed by the decoded subject, a string: which row type it carries is known only at run time.
  const handler = (
    handlers as Record<string, ((items: readonly BatchItem<unknown>[], ctx: never) => Promise<readonly HandlerResult[]>) | undefined>
  )[subject];
  if (!handler || events.some((event) => event.event.subject !== subject)) {
    throw new Error(`no batch handler for the batch's table(s): it is handled one change at a time`);
  }
  const { topic, partition } = first.context;
  const items: BatchItem<unknown>[] = events.map(({ event, context }) => ({
    change: event,
    eventId: context.eventId ?? event.eventId,
    offset: context.offset,
  }));
  const batchContext = {
    service,
    group,
    topic,
    partition,
    signal,
    logger: logger.child({ topic, partition, from: items[0]?.offset, to: items.at(-1)?.offset }),
    config,
    pool,
    applyBatchWithCheckpoint: async <Row>(
      projection: string,
      batch: readonly BatchItem<Row>[],
      apply: (client: Parameters<Parameters<typeof applyBatchWithCheckpoint>[2]>[0], fresh: readonly BatchItem<Row>[]) => Promise<void>,
    ): Promise<HandlerResult[]> => {
      const results = await applyBatchWithCheckpoint(
        pool,
        { projection, topic, partition, group, messages: batch.map((item) => ({ offset: item.offset, eventId: item.eventId })) },
        (client, fresh) =>
          apply(
            client,
            fresh.map((index) => batch[index] as BatchItem<Row>),
          ),
        signal,
      );
      return results.map((result) => (result === 'applied' ? 'processed' : 'skipped'));
    },
  };
  return handler(items, batchContext as never);
}

/** Task mode: `run-job NAME` runs that job once; any other task is not this kit's. */
function runTask<C>(
  task: NonNullable<ServiceContext<C>['task']>,
  service: string,
  jobs: readonly JobSpec[],
  host: JobHost,
): { task?: Promise<TaskOutcome> } {
  if (task.name !== 'run-job') return {};
  const job = jobs.find((candidate) => candidate.name === task.args[0]);
  if (!job) {
    const asked = task.args[0] === undefined ? 'run-job needs a job name' : `${service} has no job ${JSON.stringify(task.args[0])}`;
    return {
      task: Promise.resolve({
        ok: false,
        exitCode: 64,
        result: { service, error: `${asked}; its jobs: ${jobs.map((known) => known.name).join(', ')}` },
      }),
    };
  }
  return {
    task: runJobNow(host, job).then((result) => ({ ok: result.outcome === 'succeeded', result: { ...result } })),
  };
}
