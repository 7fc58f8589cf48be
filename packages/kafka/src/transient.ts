import { sleep } from '@pipeline/runtime';

/** Whether kafkajs marked an error as worth retrying (`KafkaJSError.retriable`). */
export function isRetriableKafkaError(error: unknown): boolean {
  return (error as { retriable?: unknown } | undefined)?.retriable === true;
}

/**
 * Runs `step`, again after a pause while it fails with an error kafkajs calls retriable, at most
 * `attempts` times. For the steps of starting a consumer that kafkajs does not retry itself:
 * `subscribe` right after a topic was created can be told "This server does not host this
 * topic-partition" by a broker whose metadata lags behind (kafkajs issue #815).
 */
export async function withTransientRetries<T>(
  step: () => Promise<T>,
  options: { attempts?: number; delayMs?: number; onRetry?: (error: unknown, attempt: number) => void } = {},
): Promise<T> {
  const attempts = options.attempts ?? 10;
  for (let attempt = 1; ; attempt++) {
    try {
      return await step();
    } catch (error) {
      if (attempt >= attempts || !isRetriableKafkaError(error)) throw error;
      options.onRetry?.(error, attempt);
      await sleep((options.delayMs ?? 500) * attempt);
    }
  }
}

/** kafkajs's errors for a broker it cannot reach or that does not answer (directly, or as the cause of its retries giving up). */
const UNREACHABLE = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSBrokerNotFound',
]);

/**
 * Whether an error says the brokers cannot be reached now (connection refused or closed, a request
 * timed out, no broker known), looking through the causes kafkajs wraps it in when its own
 * retries gave up (`KafkaJSNumberOfRetriesExceeded`).
 */
export function isBrokerUnreachable(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 6 && current; depth++) {
    const name = (current as { name?: unknown }).name;
    if (typeof name === 'string' && UNREACHABLE.has(name)) return true;
    current = (current as { cause?: unknown; originalError?: unknown }).cause ?? (current as { originalError?: unknown }).originalError;
  }
  return false;
}
