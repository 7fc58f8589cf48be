import { type PipelineError, toPipelineError } from '@pipeline/runtime';

/**
 * Non-blocking retries as data plus one pure function (docs/architecture.md, "Retries never block a
 * partition"): a failure goes to the consumer group's next retry topic with a due time, or to its
 * dead-letter topic when a retry cannot help or the ladder is exhausted. The topics belong to the
 * consumer group (which defaults to the service name), so two groups of one service never handle
 * each other's copies.
 */

export function retryTopic(group: string, attempt: number): string {
  return `${group}.retry.${attempt}`;
}

export function deadLetterTopic(group: string): string {
  return `${group}.dlq`;
}

/** Where `pipeline dlq redrive` sends a group's dead letters back: read by that group only. */
export function redriveTopic(group: string): string {
  return `${group}.redrive`;
}

export interface RetryPolicy {
  /** The consumer group whose retry and dead-letter topics these are. */
  group: string;
  /** Delay before each retry attempt, ms: one retry topic per entry (RETRY_DELAYS_MS). */
  delaysMs: readonly number[];
  /** Spread of the delay, as a fraction (0.1 = ±10 %), so retries of one outage do not arrive together. Default 0.1. */
  jitter?: number;
}

export type Route =
  | { kind: 'retry'; topic: string; attempt: number; dueAtMs: number }
  | { kind: 'dead-letter'; topic: string; attempt: number; reason: string };

/**
 * Where a failed message goes next. `attempt` is how many times it has been tried (1 for the
 * first failure on the source topic). `random` returns [0, 1) and is passed in for tests.
 */
export function routeFailure(
  policy: RetryPolicy,
  thrown: unknown,
  attempt: number,
  nowMs: number,
  random: () => number = Math.random,
): Route {
  const error: PipelineError = toPipelineError(thrown);
  if (!error.retriable) {
    return { kind: 'dead-letter', topic: deadLetterTopic(policy.group), attempt, reason: `not retriable (${error.code})` };
  }
  const delay = policy.delaysMs[attempt - 1];
  if (delay === undefined) {
    return {
      kind: 'dead-letter',
      topic: deadLetterTopic(policy.group),
      attempt,
      reason: `retries exhausted after ${attempt} attempt${attempt === 1 ? '' : 's'}`,
    };
  }
  const jitter = policy.jitter ?? 0.1;
  const spread = delay * jitter * (2 * random() - 1);
  return { kind: 'retry', topic: retryTopic(policy.group, attempt), attempt: attempt + 1, dueAtMs: nowMs + Math.round(delay + spread) };
}

/** Headers a retry or dead-letter copy carries, so the message's history travels with it. */
export interface FailureContext {
  originalTopic: string;
  originalPartition: number;
  originalOffset: string;
  /** Attempts made so far, this failure included. */
  attempt: number;
  firstFailureAtMs: number;
  consumerGroup: string;
  error: unknown;
  /** For retry copies: when the message is due. */
  dueAtMs?: number;
}

export const FAILURE_HEADERS = {
  originalTopic: 'pipeline-original-topic',
  originalPartition: 'pipeline-original-partition',
  originalOffset: 'pipeline-original-offset',
  attempt: 'pipeline-attempt',
  firstFailureAtMs: 'pipeline-first-failure-ms',
  dueAtMs: 'pipeline-due-at-ms',
  consumerGroup: 'pipeline-consumer-group',
  errorName: 'pipeline-error-name',
  errorCode: 'pipeline-error-code',
  errorMessage: 'pipeline-error-message',
  errorStack: 'pipeline-error-stack',
} as const;

/** A stack is cut so a dead letter stays small: the top frames say where it failed. */
const STACK_BYTES = 2_000;

export function failureHeaders(context: FailureContext): Record<string, string> {
  const error = toPipelineError(context.error);
  const original = error.cause instanceof Error ? error.cause : error;
  const headers: Record<string, string> = {
    [FAILURE_HEADERS.originalTopic]: context.originalTopic,
    [FAILURE_HEADERS.originalPartition]: String(context.originalPartition),
    [FAILURE_HEADERS.originalOffset]: context.originalOffset,
    [FAILURE_HEADERS.attempt]: String(context.attempt),
    [FAILURE_HEADERS.firstFailureAtMs]: String(context.firstFailureAtMs),
    [FAILURE_HEADERS.consumerGroup]: context.consumerGroup,
    [FAILURE_HEADERS.errorName]: original.name,
    [FAILURE_HEADERS.errorCode]: error.code,
    [FAILURE_HEADERS.errorMessage]: error.message.slice(0, STACK_BYTES),
    [FAILURE_HEADERS.errorStack]: (original.stack ?? '').slice(0, STACK_BYTES),
  };
  if (context.dueAtMs !== undefined) headers[FAILURE_HEADERS.dueAtMs] = String(context.dueAtMs);
  return headers;
}

/** Reads the failure headers of a retry copy back; undefined for a message that never failed. */
export function readFailureHeaders(headers: Readonly<Record<string, Buffer | string | (Buffer | string)[] | undefined>> | undefined):
  | {
      originalTopic: string;
      originalPartition: number;
      originalOffset: string;
      attempt: number;
      firstFailureAtMs: number;
      dueAtMs?: number;
    }
  | undefined {
  const get = (name: string): string | undefined => {
    const value = headers?.[name];
    const single = Array.isArray(value) ? value[0] : value;
    return single === undefined ? undefined : single.toString();
  };
  const topic = get(FAILURE_HEADERS.originalTopic);
  if (topic === undefined) return undefined;
  const due = get(FAILURE_HEADERS.dueAtMs);
  return {
    originalTopic: topic,
    originalPartition: Number(get(FAILURE_HEADERS.originalPartition)),
    originalOffset: get(FAILURE_HEADERS.originalOffset) ?? '',
    attempt: Number(get(FAILURE_HEADERS.attempt)),
    firstFailureAtMs: Number(get(FAILURE_HEADERS.firstFailureAtMs)),
    ...(due === undefined ? {} : { dueAtMs: Number(due) }),
  };
}
