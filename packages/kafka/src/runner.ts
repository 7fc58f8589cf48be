import { type Logger, PipelineError, toPipelineError } from '@pipeline/runtime';
import { type Consumer, type IHeaders, type Kafka, type KafkaMessage, Partitioners, type Producer } from 'kafkajs';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { deadLetterTopic, failureHeaders, type RetryPolicy, readFailureHeaders, retryTopic, routeFailure } from './retry';
import { ensureTopics, KEEP_FOREVER } from './topics';

/** Where a message being handled came from, and how often it was tried. */
export interface HandlerContext {
  topic: string;
  partition: number;
  offset: string;
  /** 1 on the source topic, 2 on the first retry topic, … */
  attempt: number;
  /** The event's id from its `event-id` header (what idempotency keys on), when it has one. */
  eventId?: string;
  /** Aborted when the handler's deadline passes: stop, and commit nothing. */
  signal: AbortSignal;
}

export type Outcome = 'processed' | 'retried' | 'dead_lettered';

export interface ConsumerRunnerOptions<E> {
  kafka: Kafka;
  /** The service: names the consumer groups and the retry and dead-letter topics. */
  service: string;
  /** Source topics (a new group starts from the earliest offset). */
  topics: readonly string[];
  retry: RetryPolicy;
  /** Bytes → event. Throws a not-retriable error for bad bytes, a retriable one for an unknown schema. */
  decode: (value: Buffer | null, topic: string) => Promise<E>;
  handle: (event: E, context: HandlerContext) => Promise<void>;
  /** Deadline of one handler call, ms; must stay below the session timeout. Default 10000. */
  handlerTimeoutMs?: number;
  /**
   * Consumer group session timeout, ms: how long a member that died without leaving keeps its
   * partitions. kafkajs heartbeats only between messages, hence the handler deadline below it. Default 30000.
   */
  sessionTimeoutMs?: number;
  /** Partitions of the retry topics created. Default 3. */
  retryPartitions?: number;
  replicationFactor?: number;
  logger: Logger;
  onOutcome?: (outcome: Outcome, context: Omit<HandlerContext, 'signal'>, error?: PipelineError) => void;
  /** Partitions handled at once (order holds within each). Default 3. */
  partitionsConsumedConcurrently?: number;
  /** Where the runner's metrics go (/metrics). */
  registry?: Registry;
  /** When the event happened (for example its commit time), ms: feeds the end-to-end latency histogram. */
  eventTimeMs?: (event: E) => number | undefined;
  now?: () => number;
}

/** The handler ran past its deadline: retriable, and its work must not commit. */
export class HandlerTimeoutError extends PipelineError {
  constructor(ms: number) {
    super(`handler did not finish within ${ms} ms`, { code: 'HANDLER_TIMEOUT', retriable: true });
    this.name = 'HandlerTimeoutError';
  }
}

/**
 * A consumer service's Kafka side: the source topics in group `<service>`, the retry topics in
 * group `<service>.retry`. A failure is copied to the next retry topic (or the dead-letter topic)
 * before the original's offset can be committed, so nothing is lost; a copy may be made twice,
 * which the idempotent handlers absorb. A retry copy not yet due pauses its partition without
 * resolving its offset, so a restart still finds it.
 */
export class ConsumerRunner<E> {
  private readonly main: Consumer;
  private readonly retries: Consumer;
  private readonly producer: Producer;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly now: () => number;
  private readonly metrics: ReturnType<typeof runnerMetrics>;

  constructor(private readonly options: ConsumerRunnerOptions<E>) {
    this.now = options.now ?? Date.now;
    this.metrics = runnerMetrics(options.registry);
    const sessionTimeout = options.sessionTimeoutMs ?? 30_000;
    const heartbeatInterval = Math.max(500, Math.floor(sessionTimeout / 10));
    if ((options.handlerTimeoutMs ?? 10_000) >= sessionTimeout) {
      throw new Error(
        `handlerTimeoutMs (${options.handlerTimeoutMs}) must be below sessionTimeoutMs (${sessionTimeout}), or the group takes the partitions away mid-work`,
      );
    }
    this.main = options.kafka.consumer({ groupId: options.service, sessionTimeout, heartbeatInterval });
    // A short long-poll: a resumed partition is fetched again soon after its message is due.
    this.retries = options.kafka.consumer({ groupId: `${options.service}.retry`, maxWaitTimeInMs: 250, sessionTimeout, heartbeatInterval });
    this.producer = options.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
  }

  get retryTopics(): string[] {
    return this.options.retry.delaysMs.map((_, i) => retryTopic(this.options.service, i + 1));
  }

  async start(): Promise<void> {
    const { options } = this;
    const admin = options.kafka.admin();
    await admin.connect();
    try {
      const replicationFactor = options.replicationFactor ?? 1;
      await ensureTopics(admin, [
        ...this.retryTopics.map((topic) => ({
          topic,
          numPartitions: options.retryPartitions ?? 3,
          replicationFactor,
          configEntries: KEEP_FOREVER,
        })),
        { topic: deadLetterTopic(options.service), numPartitions: 1, replicationFactor, configEntries: KEEP_FOREVER },
      ]);
    } finally {
      await admin.disconnect();
    }
    await this.producer.connect();
    await this.main.connect();
    await this.main.subscribe({ topics: [...options.topics], fromBeginning: true });
    for (const consumer of [this.main, this.retries]) {
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
        this.metrics.lag.set({ topic: payload.topic, partition: String(payload.partition) }, Number(payload.offsetLag));
      });
    }
    await this.main.run({
      partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 3,
      eachMessage: async ({ topic, partition, message }) => {
        await this.process(topic, partition, message, 1);
      },
    });
    await this.retries.connect();
    await this.retries.subscribe({ topics: this.retryTopics, fromBeginning: true });
    await this.retries.run({
      partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 3,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        for (const message of batch.messages) {
          if (!isRunning() || isStale()) return;
          const failure = readFailureHeaders(message.headers);
          const dueAtMs = failure?.dueAtMs ?? 0;
          const waitMs = dueAtMs - this.now();
          if (waitMs > 0) {
            // Not due: pause this partition only and come back; the offset stays unresolved.
            const target = [{ topic: batch.topic, partitions: [batch.partition] }];
            this.retries.pause(target);
            const timer = setTimeout(() => {
              this.timers.delete(timer);
              this.retries.resume(target);
            }, waitMs);
            this.timers.add(timer);
            return;
          }
          // The header counts the attempts made so far: this is the next one.
          await this.process(batch.topic, batch.partition, message, (failure?.attempt ?? 1) + 1);
          resolveOffset(message.offset);
          await heartbeat();
        }
      },
    });
  }

  async stop(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await this.main.disconnect();
    await this.retries.disconnect();
    await this.producer.disconnect();
  }

  private async process(topic: string, partition: number, message: KafkaMessage, attempt: number): Promise<void> {
    const { options } = this;
    const failure = readFailureHeaders(message.headers);
    const origin = failure
      ? { topic: failure.originalTopic, partition: failure.originalPartition, offset: failure.originalOffset }
      : { topic, partition, offset: message.offset };
    const eventId = message.headers?.['event-id']?.toString();
    const context = { topic, partition, offset: message.offset, attempt, ...(eventId === undefined ? {} : { eventId }) };
    const controller = new AbortController();
    const started = performance.now();
    try {
      const event = await options.decode(message.value, origin.topic);
      await this.withDeadline(options.handle(event, { ...context, signal: controller.signal }), controller);
      this.metrics.duration.observe((performance.now() - started) / 1000);
      this.metrics.outcomes.inc({ outcome: 'processed' });
      const happenedAt = options.eventTimeMs?.(event);
      if (happenedAt !== undefined) this.metrics.age.observe(Math.max(0, this.now() - happenedAt) / 1000);
      options.onOutcome?.('processed', context);
    } catch (thrown) {
      const error = toPipelineError(thrown);
      const route = routeFailure(options.retry, error, attempt, this.now());
      const headers = failureHeaders({
        originalTopic: origin.topic,
        originalPartition: origin.partition,
        originalOffset: origin.offset,
        attempt,
        firstFailureAtMs: failure?.firstFailureAtMs ?? this.now(),
        consumerGroup: options.service,
        error: thrown,
        ...(route.kind === 'retry' ? { dueAtMs: route.dueAtMs } : {}),
      });
      // The copy is durable before this function returns, and so before the offset can be committed.
      await this.producer.send({
        topic: route.topic,
        acks: -1,
        messages: [{ key: message.key, value: message.value, headers: { ...passThrough(message.headers), ...headers } }],
      });
      const outcome: Outcome = route.kind === 'retry' ? 'retried' : 'dead_lettered';
      this.metrics.outcomes.inc({ outcome });
      options.logger.warn(
        { topic, partition, offset: message.offset, attempt, to: route.topic, err: error },
        `${outcome === 'retried' ? 'retrying' : 'dead-lettered'}: ${error.message}`,
      );
      options.onOutcome?.(outcome, context, error);
    }
  }

  private async withDeadline(work: Promise<void>, controller: AbortController): Promise<void> {
    const ms = this.options.handlerTimeoutMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        work,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            controller.abort();
            reject(new HandlerTimeoutError(ms));
          }, ms);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The message's own headers travel on (event-id, traceparent …); failure headers are replaced. */
function passThrough(headers: IHeaders | undefined): IHeaders {
  const kept: IHeaders = {};
  for (const [key, value] of Object.entries(headers ?? {})) if (!key.startsWith('pipeline-') && value !== undefined) kept[key] = value;
  return kept;
}

/** The runner's series; without a registry they are kept but not exposed. */
function runnerMetrics(registry: Registry | undefined) {
  const registers = registry ? [registry] : [];
  return {
    outcomes: new Counter({
      name: 'consumer_events_total',
      help: 'Events by outcome: processed, retried, dead_lettered',
      labelNames: ['outcome'],
      registers,
    }),
    duration: new Histogram({
      name: 'consumer_handle_seconds',
      help: 'Time to decode and handle one event',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    age: new Histogram({
      name: 'consumer_event_age_seconds',
      help: 'From the change’s commit to its handling (end to end)',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    }),
    lag: new Gauge({
      name: 'consumer_offset_lag',
      help: 'Messages behind the high watermark, per partition',
      labelNames: ['topic', 'partition'],
      registers,
    }),
  };
}
