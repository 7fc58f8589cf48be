import { DeadlineExceededError, type Logger, type PipelineError, sleep, toPipelineError } from '@pipeline/runtime';
import { EVENT_HEADERS } from '@pipeline/schemas';
import type { Consumer, EachBatchPayload, IHeaders, Kafka, KafkaMessage, Producer } from 'kafkajs';
import type { Registry } from 'prom-client';
import { superviseCrashes } from './crash';
import { DuePauses } from './due-pauses';
import { type GroupLagMetrics, groupLagMetrics } from './group-lag';
import { makeProducer } from './producer';
import { classifyProduceError, ProduceRefusedError } from './refusal';
import { deadLetterTopic, failureHeaders, type RetryPolicy, readFailureHeaders, redriveTopic, retryTopic, routeFailure } from './retry';
import { runnerMetrics } from './runner-metrics';
import { ensureTopics, KEEP_FOREVER, waitForTopics } from './topics';
import { isBrokerUnreachable, withTransientRetries } from './transient';

/** Where a message being handled came from, and how often it was tried. */
export interface HandlerContext {
  topic: string;
  partition: number;
  offset: string;
  /** 1 on the source topic, 2 on the first retry topic, … */
  attempt: number;
  /** Where the event was first read (for a retry or redrive copy: the original topic, partition and offset). */
  source: { topic: string; partition: number; offset: string };
  /** The event's id (the `event-id` header, else `eventIdOf`): what idempotency keys on. */
  eventId?: string;
  /** The message's key (for a cdc change, the row's key), when it has one. */
  key?: string;
  /** When the event happened (`eventTimeMs`; for a cdc change, its commit), once it decoded. */
  eventTimeMs?: number;
  /** Aborted when the handler's deadline passes or shutdown abandons it: stop, and commit nothing. */
  signal: AbortSignal;
}

export type Outcome = 'processed' | 'skipped' | 'retried' | 'dead_lettered';

/**
 * What a handler reports: nothing or `processed`, `skipped` when the event had been handled before,
 * or `ignored` when it is not this consumer's to handle (a control record it did not ask for): then
 * the offset moves on, the `ignored` count grows, and no outcome is told.
 */
export type HandlerResult = 'processed' | 'skipped' | 'ignored';

/** One event of a batch, with where it was read (its signal is the batch's). */
export interface BatchEvent<E> {
  event: E;
  context: Omit<HandlerContext, 'signal'>;
}

export interface ConsumerRunnerOptions<E> {
  kafka: Kafka;
  /** The service (in logs and hints); the consumer group too unless `groupId` is set. */
  service: string;
  /**
   * Consumer group of the source topics; it also names the retry, dead-letter and redrive topics
   * (`<group>.retry.N`, `<group>.dlq`, `<group>.redrive`), read in group `<group>.retry`. Default: the service.
   */
  groupId?: string;
  /**
   * Source topics (a new group starts from the earliest offset). Those that do not exist yet are
   * waited for; none: only the retry and redrive topics are read.
   */
  topics: readonly string[];
  retry: Omit<RetryPolicy, 'group'>;
  /** Bytes → event. Throws a not-retriable error for bad bytes, a retriable one for an unknown schema. */
  decode: (value: Buffer | null, topic: string) => Promise<E>;
  // biome-ignore lint/suspicious/noConfusingVoidType: a handler that returns nothing has processed the event.
  handle: (event: E, context: HandlerContext) => Promise<HandlerResult | void>;
  /**
   * Optional: applies up to `maxBatchSize` messages of one source partition at once (a
   * projection's batch apply), returning one result per event in order. When it throws, or a
   * message of the batch cannot be decoded, the runner handles that batch's messages one by one
   * with `handle`, so one poison event goes to the retry ladder alone. Retry and redrive copies
   * always go one by one.
   */
  handleBatch?: (events: readonly BatchEvent<E>[], signal: AbortSignal) => Promise<readonly HandlerResult[]>;
  /** Most messages in one `handleBatch` call. Default 500. */
  maxBatchSize?: number;
  /** Told of a whole batch's outcomes at once (one write instead of one per event); else `onOutcome` for each. */
  onOutcomes?: (outcomes: readonly { outcome: Outcome; context: Omit<HandlerContext, 'signal'> }[]) => void | Promise<void>;
  /** The event's id when the message has no `event-id` header. */
  eventIdOf?: (event: E) => string | undefined;
  /** Deadline of one handler call, ms; must stay below the session timeout. Default 10000. */
  handlerTimeoutMs?: number;
  /**
   * Consumer group session timeout, ms: how long a member that died without leaving keeps its
   * partitions. kafkajs heartbeats only between messages, hence the handler deadline below it. Default 30000.
   */
  sessionTimeoutMs?: number;
  /** On stop, how long in-flight handlers may still finish before they are abandoned (redelivered later), ms. Default 5000. */
  shutdownGraceMs?: number;
  /**
   * Optional: a failure that says something every event needs is away (the database restarting)
   * is tried again in place, holding its partition, instead of taking the retry ladder: later
   * events of its key never overtake it. For a service whose effects must follow commit order per
   * key (the webhook-dispatcher's queue); the others let the ladder absorb it.
   */
  holdInPlace?: (error: unknown) => boolean;
  /** Partitions of the retry topics created. Default 3. */
  retryPartitions?: number;
  replicationFactor?: number;
  /** Broker configs of the retry and dead-letter topics created. Default: unlimited retention. */
  topicConfig?: Readonly<Record<string, string>>;
  logger: Logger;
  /** Told of every outcome before the message's offset can be committed (for example to record it). */
  onOutcome?: (outcome: Outcome, context: Omit<HandlerContext, 'signal'>, error?: PipelineError) => void | Promise<void>;
  /** Partitions handled at once (order holds within each). Default 3. */
  partitionsConsumedConcurrently?: number;
  /** How often missing source topics are looked for, ms. Default 1000. */
  topicPollMs?: number;
  /** While waiting for source topics, how often to say so again in the log, ms. Default 30000. */
  waitLogEveryMs?: number;
  /**
   * Told when consuming has stopped for good (a consumer crash kafkajs will not restart from): the
   * process should exit so its supervisor restarts it.
   */
  onFatal?: (error: Error, message: string) => void;
  /** Where the runner's metrics go (/metrics). */
  registry?: Registry;
  /** When the event happened (for example its commit time), ms: feeds the end-to-end latency histogram. */
  eventTimeMs?: (event: E) => number | undefined;
  now?: () => number;
}

/** Shutdown gave up on an in-flight handler: its offset stays uncommitted, so it is handled again after restart. */
class AbandonedError extends Error {}

/** How long after the runner created its topics a broker may still not know one, ms. */
const TOPIC_SETTLE_MS = 30_000;
/** The longest pause between two tries to reach brokers that are away, ms. */
const BROKER_WAIT_MAX_MS = 5_000;

/** `routed`: it failed and its copy went to a retry topic or the dead-letter topic. */
type MessageResult = 'done' | 'routed' | 'abandoned' | 'held';
/** The longest pause between two tries of a message held in place, ms (below any session timeout). */
const HOLD_MAX_MS = 2_000;

/**
 * A consumer service's Kafka side: the source topics in its consumer group, its retry and redrive
 * topics in group `<group>.retry`. A failure is copied to the next retry topic (or the dead-letter topic)
 * before the original's offset can be committed, so nothing is lost; a copy may be made twice,
 * which the idempotent handlers absorb. A retry copy not yet due pauses its partition without
 * resolving its offset, so a restart still finds it. Offsets are resolved one message at a time,
 * only once it is handled, so `stop()` can commit exactly what is done.
 */
export class ConsumerRunner<E> {
  /** The consumer group of the source topics. */
  readonly group: string;
  private readonly policy: RetryPolicy;
  private readonly main: Consumer;
  private readonly retries: Consumer;
  private readonly producer: Producer;
  private readonly duePauses: DuePauses;
  private readonly now: () => number;
  private readonly metrics: ReturnType<typeof runnerMetrics>;
  /** The source topics' lag as the broker sees it, for /metrics. */
  private readonly lag: GroupLagMetrics | undefined;
  /** Fires when the shutdown grace is over: in-flight handlers are abandoned. */
  private readonly shutdown = new AbortController();
  private stopping: Promise<void> | undefined;
  /** Ends a wait for source topics when the runner stops. */
  private readonly startAbort = new AbortController();
  /** The start in progress: stop() waits for it, so nothing connects after stop() disconnected. */
  private starting: Promise<void> | undefined;
  /** Why the runner is not consuming yet (or any more); undefined while it consumes. */
  private notReady: string | undefined = 'starting';
  /** When the retry and dead-letter topics were made sure of: an unknown one long after is gone, not late. */
  private topicsEnsuredAtMs = 0;
  /** A copy Kafka refused for good: consuming stopped, and onFatal was told why. */
  private refused: ProduceRefusedError | undefined;

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
    this.group = options.groupId ?? options.service;
    this.policy = { ...options.retry, group: this.group };
    this.main = options.kafka.consumer({ groupId: this.group, sessionTimeout, heartbeatInterval });
    // A short long-poll: a resumed partition is fetched again soon after its message is due.
    this.retries = options.kafka.consumer({ groupId: `${this.group}.retry`, maxWaitTimeInMs: 250, sessionTimeout, heartbeatInterval });
    this.duePauses = new DuePauses(this.retries, this.metrics.pausedPartitions);
    this.producer = makeProducer(options.kafka);
    if (options.registry && options.topics.length > 0) {
      this.lag = groupLagMetrics({
        registry: options.registry,
        kafka: options.kafka,
        group: this.group,
        topics: options.topics,
        logger: options.logger,
      });
    }
  }

  get retryTopics(): string[] {
    return this.options.retry.delaysMs.map((_, i) => retryTopic(this.group, i + 1));
  }

  /** Why the runner is not consuming (for /readyz), or undefined while it is. */
  get notReadyReason(): string | undefined {
    return this.notReady;
  }

  /**
   * Creates the retry, dead-letter and redrive topics, waits until the source topics exist (it
   * may wait a long time: `notReadyReason` says for what), then consumes. Resolves once consuming,
   * or when `stop()` ended the wait.
   */
  start(): Promise<void> {
    this.starting ??= this.connectAndRun();
    return this.starting;
  }

  private async connectAndRun(): Promise<void> {
    const { options } = this;
    const found = await this.whileBrokersAway('creating its topics', async () => {
      const admin = options.kafka.admin();
      await admin.connect();
      try {
        const replicationFactor = options.replicationFactor ?? 1;
        const configEntries = { ...(options.topicConfig ?? KEEP_FOREVER) };
        await ensureTopics(admin, [
          ...this.retryTopics.map((topic) => ({ topic, numPartitions: options.retryPartitions ?? 3, replicationFactor, configEntries })),
          { topic: deadLetterTopic(this.group), numPartitions: 1, replicationFactor, configEntries },
          { topic: redriveTopic(this.group), numPartitions: 1, replicationFactor, configEntries },
        ]);
        this.topicsEnsuredAtMs = this.now();
        return await this.waitForSourceTopics(admin);
      } finally {
        await admin.disconnect();
      }
    });
    if (!found || this.stopping) return;
    await this.whileBrokersAway('connecting its producer', () => this.producer.connect());
    if (this.stopping) return;
    const concurrency = options.partitionsConsumedConcurrently ?? 3;
    const mainRun = {
      partitionsConsumedConcurrently: concurrency,
      eachBatchAutoResolve: false,
      eachBatch: (payload: EachBatchPayload) => this.consumeBatch(payload, 'source'),
    };
    const retriesRun = {
      partitionsConsumedConcurrently: concurrency,
      eachBatchAutoResolve: false,
      eachBatch: (payload: EachBatchPayload) =>
        this.consumeBatch(payload, payload.batch.topic === redriveTopic(this.group) ? 'redrive' : 'retry'),
    };
    for (const [consumer, run] of [
      [this.main, mainRun],
      [this.retries, retriesRun],
    ] as const) {
      this.superviseCrashes(consumer, () => consumer.connect().then(() => consumer.run(run)));
    }
    if (options.topics.length > 0) {
      await this.whileBrokersAway('joining its consumer group', async () => {
        await this.main.connect();
        await withTransientRetries(() => this.main.subscribe({ topics: [...options.topics], fromBeginning: true }), {
          onRetry: (error) => options.logger.warn({ err: error }, 'subscribing to the source topics failed for now: trying again'),
        });
      });
      if (this.stopping) return;
      await this.main.run(mainRun);
    }
    await this.whileBrokersAway('joining its retry consumer group', async () => {
      await this.retries.connect();
      // Redriven dead letters come back on the group's own redrive topic, read like a due retry.
      await withTransientRetries(
        () => this.retries.subscribe({ topics: [...this.retryTopics, redriveTopic(this.group)], fromBeginning: true }),
        { onRetry: (error) => options.logger.warn({ err: error }, 'subscribing to the retry topics failed for now: trying again') },
      );
    });
    if (this.stopping) return;
    await this.retries.run(retriesRun);
    if (!this.stopping) this.notReady = undefined;
  }

  /**
   * A consumer crash kafkajs will not restart from: one that passes (coordinator not found, brokers
   * away) starts the consumer again after a pause, not ready meanwhile; any other stops the service.
   */
  private superviseCrashes(consumer: Consumer, restart: () => Promise<void>): void {
    const { options } = this;
    let restarting: string | undefined;
    consumer.on(consumer.events.GROUP_JOIN, () => {
      if (restarting !== undefined && this.notReady === restarting) this.notReady = undefined;
      restarting = undefined;
    });
    superviseCrashes(consumer, {
      restart,
      stopping: () => this.stopping !== undefined,
      onPassing: (error, groupId, delayMs) => {
        restarting = `consumer group ${groupId} crashed (${error.message}): starting it again in ${(delayMs / 1000).toFixed(1)} s`;
        this.notReady = restarting;
        options.logger.warn({ err: error, groupId }, `${restarting}, as kafkajs does not`);
      },
      onGone: (error, groupId) => {
        // A refusal that stopped it has said what to do already (kafkajs passes on a wrapped copy of it).
        if (this.refused) return;
        this.notReady = `consumer group ${groupId} crashed and kafkajs will not restart it: ${error.message}`;
        options.onFatal?.(error, this.notReady);
      },
    });
  }

  /**
   * Runs a step of starting, again and again while the brokers cannot be reached (a service
   * started, or restarted, during a broker outage waits for it, not-ready, instead of exiting into
   * a crash loop its supervisor would give up on); says so in the log once, then every
   * `waitLogEveryMs`. Any other error is thrown; `stop()` ends the wait (resolving undefined).
   */
  private async whileBrokersAway<T>(doing: string, step: () => Promise<T>): Promise<T | undefined> {
    const { options } = this;
    let loggedAt: number | undefined;
    for (let attempt = 1; ; attempt++) {
      try {
        return await step();
      } catch (error) {
        if (this.stopping) return undefined;
        if (!isBrokerUnreachable(error)) throw error;
        this.notReady = `waiting for the Kafka brokers (${doing}): ${(error as Error).message}`;
        const now = this.now();
        if (loggedAt === undefined || now - loggedAt >= (options.waitLogEveryMs ?? 30_000)) {
          loggedAt = now;
          options.logger.warn(
            { err: error, attempt },
            `${this.notReady}; trying again until they answer (check that the brokers in KAFKA_BROKERS are up)`,
          );
        }
        await sleep(Math.min(BROKER_WAIT_MAX_MS, 500 * attempt), this.startAbort.signal);
        if (this.stopping) return undefined;
      }
    }
  }

  /** Waits for the source topics, saying so in the log once and then every `waitLogEveryMs`. */
  private async waitForSourceTopics(admin: ReturnType<Kafka['admin']>): Promise<boolean> {
    const { options } = this;
    let loggedAt: number | undefined;
    const found = await waitForTopics(admin, options.topics, {
      signal: this.startAbort.signal,
      ...(options.topicPollMs ? { pollMs: options.topicPollMs } : {}),
      onMissing: (missing) => {
        this.notReady = `waiting for topic${missing.length === 1 ? '' : 's'} ${missing.join(', ')}`;
        const now = this.now();
        if (loggedAt !== undefined && now - loggedAt < (options.waitLogEveryMs ?? 30_000)) return;
        loggedAt = now;
        options.logger.warn(
          { missing },
          `${this.notReady}: nothing is consumed until ${missing.length === 1 ? 'it exists' : 'they exist'} ` +
            '(the cdc-reader creates the cdc topics when it starts; check it runs with the same CDC_TOPIC_PREFIX)',
        );
      },
    });
    if (found && loggedAt !== undefined) options.logger.info({ topics: options.topics }, 'the source topics exist now: consuming');
    return found;
  }

  /**
   * Stops taking messages, gives in-flight handlers `graceMs` to finish (then abandons them:
   * their offsets stay uncommitted), commits what is done, leaves both groups, closes the producer.
   */
  stop(graceMs = this.options.shutdownGraceMs ?? 5_000): Promise<void> {
    this.stopping ??= (async () => {
      this.notReady = 'stopping';
      this.startAbort.abort();
      // A start that fails is the caller's to report; here it only must have ended.
      await this.starting?.catch(() => undefined);
      this.duePauses.clear();
      const abandon = setTimeout(() => this.shutdown.abort(), graceMs);
      try {
        // kafkajs waits for the batches in progress, commits resolved offsets and leaves the group.
        await Promise.all([this.main.disconnect(), this.retries.disconnect()]);
      } finally {
        clearTimeout(abandon);
      }
      await this.producer.disconnect();
      await this.lag?.close();
    })();
    return this.stopping;
  }

  private async consumeBatch(payload: EachBatchPayload, kind: 'source' | 'retry' | 'redrive'): Promise<void> {
    const { batch, resolveOffset, heartbeat, isRunning, isStale } = payload;
    if (kind === 'source' && this.options.handleBatch) {
      const size = this.options.maxBatchSize ?? 500;
      for (let start = 0; start < batch.messages.length; start += size) {
        if (!isRunning() || isStale() || this.stopping) return;
        const chunk = batch.messages.slice(start, start + size);
        const applied = await this.applyChunk(batch.topic, batch.partition, chunk);
        if (applied === 'abandoned') return;
        if (applied === 'done') {
          const last = chunk.at(-1);
          if (last) resolveOffset(last.offset);
          this.metrics.lastProgress.set({ topic: batch.topic, partition: String(batch.partition) }, this.now() / 1000);
          await heartbeat();
          continue;
        }
        if ((await this.consumeOneByOne(payload, chunk, kind)) === 'stopped') return;
      }
      return;
    }
    await this.consumeOneByOne(payload, batch.messages, kind);
  }

  /**
   * A chunk through `handleBatch`: decoded, applied at once under the handler deadline, every
   * outcome reported. `fallback` when a message does not decode or the batch apply throws: the
   * caller then handles the chunk one message at a time.
   */
  private async applyChunk(
    topic: string,
    partition: number,
    messages: readonly KafkaMessage[],
  ): Promise<'done' | 'fallback' | 'abandoned'> {
    const { options } = this;
    const handleBatch = options.handleBatch;
    if (!handleBatch || messages.length === 0) return 'fallback';
    const events: BatchEvent<E>[] = [];
    const started = performance.now();
    try {
      for (const message of messages) {
        const event = await options.decode(message.value, topic);
        const context: Omit<HandlerContext, 'signal'> = {
          topic,
          partition,
          offset: message.offset,
          attempt: 1,
          source: { topic, partition, offset: message.offset },
        };
        const eventId = message.headers?.[EVENT_HEADERS.eventId]?.toString() ?? options.eventIdOf?.(event);
        if (eventId !== undefined) context.eventId = eventId;
        if (message.key) context.key = message.key.toString();
        const happenedAt = options.eventTimeMs?.(event);
        if (happenedAt !== undefined) context.eventTimeMs = happenedAt;
        events.push({ event, context });
      }
    } catch {
      this.metrics.batchFallbacks.inc({ reason: 'decode' });
      return 'fallback';
    }
    const controller = new AbortController();
    let results: readonly HandlerResult[];
    try {
      results = await this.withDeadline(handleBatch(events, controller.signal), controller);
    } catch (thrown) {
      if (thrown instanceof AbandonedError) return 'abandoned';
      this.metrics.batchFallbacks.inc({ reason: 'apply' });
      options.logger.warn(
        { err: thrown, topic, partition, from: messages[0]?.offset, to: messages.at(-1)?.offset },
        'a batch failed to apply: handling its messages one by one, so only what fails goes to the retry ladder',
      );
      return 'fallback';
    }
    this.metrics.batchSize.observe(events.length);
    this.metrics.batchApply.observe((performance.now() - started) / 1000);
    const outcomes: { outcome: Outcome; context: Omit<HandlerContext, 'signal'> }[] = [];
    events.forEach(({ context }, i) => {
      if (results[i] === 'ignored') {
        this.metrics.outcomes.inc({ outcome: 'ignored' });
        return;
      }
      if (context.eventTimeMs !== undefined) this.metrics.age.observe(Math.max(0, this.now() - context.eventTimeMs) / 1000);
      outcomes.push({ outcome: results[i] === 'skipped' ? 'skipped' : 'processed', context });
    });
    await this.reportAll(outcomes);
    return 'done';
  }

  private async consumeOneByOne(
    payload: EachBatchPayload,
    messages: readonly KafkaMessage[],
    kind: 'source' | 'retry' | 'redrive',
  ): Promise<'done' | 'stopped'> {
    const { batch, resolveOffset, heartbeat, isRunning, isStale, commitOffsetsIfNecessary } = payload;
    for (const message of messages) {
      if (!isRunning() || isStale() || this.stopping) return 'stopped';
      // A redriven letter starts the ladder again: a person fixed the cause.
      let attempt = 1;
      if (kind === 'retry') {
        const failure = readFailureHeaders(message.headers);
        const waitMs = (failure?.dueAtMs ?? 0) - this.now();
        if (waitMs > 0) {
          this.pauseUntilDue(batch.topic, batch.partition, waitMs);
          return 'stopped';
        }
        // The header counts the attempts made so far: this is the next one.
        attempt = (failure?.attempt ?? 1) + 1;
      }
      let result = await this.process(batch.topic, batch.partition, message, attempt);
      for (let held = 1; result === 'held'; held++) {
        // Tried again in place: nothing after it in this partition is handled before it.
        await heartbeat();
        if (!isRunning() || isStale() || this.stopping) return 'stopped';
        await sleep(Math.min(HOLD_MAX_MS, 250 * 2 ** (held - 1)), this.startAbort.signal);
        await heartbeat();
        if (!isRunning() || isStale() || this.stopping) return 'stopped';
        result = await this.process(batch.topic, batch.partition, message, attempt, held);
      }
      if (result === 'abandoned') return 'stopped';
      resolveOffset(message.offset);
      // A failure's copy is durable: commit now (failures are rare), so a crash later in the batch does not copy it twice.
      if (result === 'routed') {
        const next = String(BigInt(message.offset) + 1n);
        await commitOffsetsIfNecessary({ topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: next }] }] });
      }
      this.metrics.lastProgress.set({ topic: batch.topic, partition: String(batch.partition) }, this.now() / 1000);
      await heartbeat();
    }
    return 'done';
  }

  /** Not due: pause this partition only and come back; the message's offset stays unresolved. */
  private pauseUntilDue(topic: string, partition: number, waitMs: number): void {
    this.duePauses.pauseFor(topic, partition, waitMs);
  }

  private async process(topic: string, partition: number, message: KafkaMessage, attempt: number, held = 0): Promise<MessageResult> {
    const { options } = this;
    const failure = readFailureHeaders(message.headers);
    const origin = failure
      ? { topic: failure.originalTopic, partition: failure.originalPartition, offset: failure.originalOffset }
      : { topic, partition, offset: message.offset };
    const headerId = message.headers?.[EVENT_HEADERS.eventId]?.toString();
    const context: Omit<HandlerContext, 'signal'> = { topic, partition, offset: message.offset, attempt, source: origin };
    if (headerId !== undefined) context.eventId = headerId;
    if (message.key) context.key = message.key.toString();
    const controller = new AbortController();
    const started = performance.now();
    try {
      const event = await options.decode(message.value, origin.topic);
      context.eventId ??= options.eventIdOf?.(event);
      const happenedAt = options.eventTimeMs?.(event);
      if (happenedAt !== undefined) context.eventTimeMs = happenedAt;
      const result = await this.withDeadline(options.handle(event, { ...context, signal: controller.signal }), controller);
      this.metrics.duration.observe((performance.now() - started) / 1000);
      if (result === 'ignored') {
        this.metrics.outcomes.inc({ outcome: 'ignored' });
        return 'done';
      }
      if (context.eventTimeMs !== undefined) this.metrics.age.observe(Math.max(0, this.now() - context.eventTimeMs) / 1000);
      await this.report(result === 'skipped' ? 'skipped' : 'processed', context);
      return 'done';
    } catch (thrown) {
      if (thrown instanceof AbandonedError) {
        this.metrics.outcomes.inc({ outcome: 'abandoned' });
        options.logger.warn(
          { topic, partition, offset: message.offset, eventId: context.eventId },
          'shutdown abandoned an in-flight message: its offset is not committed, so it is handled again after restart',
        );
        return 'abandoned';
      }
      if (options.holdInPlace?.(thrown)) {
        if (held % 20 === 0) {
          options.logger.warn(
            { topic, partition, offset: message.offset, eventId: context.eventId, err: thrown, held },
            `holding ${topic}/${partition} at ${message.offset} and trying again in place (${(thrown as Error).message}): ` +
              'its later events must not overtake it',
          );
        }
        return 'held';
      }
      await this.routeToRetryOrDlq(thrown, message, origin, failure?.firstFailureAtMs, context);
      return 'routed';
    }
  }

  private async routeToRetryOrDlq(
    thrown: unknown,
    message: KafkaMessage,
    origin: { topic: string; partition: number; offset: string },
    firstFailureAtMs: number | undefined,
    context: Omit<HandlerContext, 'signal'>,
  ): Promise<void> {
    const { options } = this;
    const error = toPipelineError(thrown);
    const route = routeFailure(this.policy, error, context.attempt, this.now());
    const headers = failureHeaders({
      originalTopic: origin.topic,
      originalPartition: origin.partition,
      originalOffset: origin.offset,
      attempt: context.attempt,
      firstFailureAtMs: firstFailureAtMs ?? this.now(),
      consumerGroup: this.group,
      error: thrown,
      ...(route.kind === 'retry' ? { dueAtMs: route.dueAtMs } : {}),
    });
    // The copy is durable before this function returns, and so before the offset can be committed.
    try {
      await this.producer.send({
        topic: route.topic,
        acks: -1,
        messages: [{ key: message.key, value: message.value, headers: { ...passThrough(message.headers), ...headers } }],
      });
    } catch (sendError) {
      throw this.copyRefused(sendError, route.topic, origin);
    }
    const outcome: Outcome = route.kind === 'retry' ? 'retried' : 'dead_lettered';
    options.logger.warn(
      { topic: context.topic, partition: context.partition, offset: context.offset, attempt: context.attempt, to: route.topic, err: error },
      outcome === 'retried'
        ? `retrying on ${route.topic}: ${error.message}`
        : `dead-lettered to ${route.topic} (${route.kind === 'dead-letter' ? route.reason : ''}): ${error.message}. ` +
            `Inspect it with 'pipeline dlq list --service ${options.service}${this.group === options.service ? '' : ` --group ${this.group}`}'`,
    );
    await this.report(outcome, context, error);
  }

  /**
   * A retry or dead-letter copy Kafka would not take. Retriable: thrown as it is (kafkajs retries
   * the batch; the offset stays unresolved). Permanent (an invalid record, say a keyless one on a
   * compacted retry topic, a topic it may not write …) or too large for the topic: no retry can
   * pass, so the service stops with exit code 78, saying which topic and what to do, and the
   * message's offset is not committed: nothing is lost, it is handled after the fix.
   */
  private copyRefused(error: unknown, topic: string, origin: { topic: string; partition: number; offset: string }): unknown {
    const refusal = classifyProduceError(error, {
      topicsSettled: this.now() - this.topicsEnsuredAtMs > TOPIC_SETTLE_MS,
      unknownTopicAdvice:
        'the topic does not exist (was it deleted?) and the brokers do not create topics on use: starting the service again creates it',
    });
    if (refusal.kind === 'retriable') return error;
    const permanent =
      refusal.kind === 'permanent'
        ? refusal
        : {
            ...refusal,
            kind: 'permanent' as const,
            advice: `the copy is larger than ${topic} accepts: raise its max.message.bytes to at least that of ${origin.topic} plus 16 KiB`,
          };
    const refused = new ProduceRefusedError(
      permanent,
      [{ topic, partitions: [] }],
      `the copy of ${origin.topic} partition ${origin.partition} offset ${origin.offset}`,
      error,
    );
    this.refused ??= refused;
    this.notReady = refused.message;
    this.options.onFatal?.(refused, refused.message);
    return refused;
  }

  /** Counts the outcome and tells `onOutcome`; a failure to record is logged, never fatal. */
  private async report(outcome: Outcome, context: Omit<HandlerContext, 'signal'>, error?: PipelineError): Promise<void> {
    this.metrics.outcomes.inc({ outcome });
    try {
      await this.options.onOutcome?.(outcome, context, error);
    } catch (failure) {
      this.metrics.outcomeWriteFailures.inc();
      this.options.logger.warn(
        { err: failure, outcome, eventId: context.eventId },
        'could not record an event outcome; the event itself is handled',
      );
    }
  }

  /** A batch's outcomes: counted, and told at once to `onOutcomes` (else one by one to `onOutcome`). */
  private async reportAll(outcomes: readonly { outcome: Outcome; context: Omit<HandlerContext, 'signal'> }[]): Promise<void> {
    if (!this.options.onOutcomes) {
      for (const { outcome, context } of outcomes) await this.report(outcome, context);
      return;
    }
    for (const { outcome } of outcomes) this.metrics.outcomes.inc({ outcome });
    try {
      await this.options.onOutcomes(outcomes);
    } catch (failure) {
      this.metrics.outcomeWriteFailures.inc(outcomes.length);
      this.options.logger.warn(
        { err: failure, events: outcomes.length },
        'could not record a batch’s outcomes; the events themselves are handled',
      );
    }
  }

  /** Races the handler against its deadline and the shutdown grace. */
  private async withDeadline<T>(work: Promise<T>, controller: AbortController): Promise<T> {
    const ms = this.options.handlerTimeoutMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    let onShutdown: (() => void) | undefined;
    try {
      return await Promise.race([
        work,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            controller.abort();
            reject(new DeadlineExceededError(`handler did not finish within ${ms} ms`));
          }, ms);
          onShutdown = () => {
            controller.abort();
            reject(new AbandonedError());
          };
          if (this.shutdown.signal.aborted) onShutdown();
          else this.shutdown.signal.addEventListener('abort', onShutdown, { once: true });
        }),
      ]);
    } finally {
      clearTimeout(timer);
      if (onShutdown) this.shutdown.signal.removeEventListener('abort', onShutdown);
    }
  }
}

/** The message's own headers travel on (event-id, traceparent …); failure headers are replaced. */
function passThrough(headers: IHeaders | undefined): IHeaders {
  const kept: IHeaders = {};
  for (const [key, value] of Object.entries(headers ?? {})) if (!key.startsWith('pipeline-') && value !== undefined) kept[key] = value;
  return kept;
}
