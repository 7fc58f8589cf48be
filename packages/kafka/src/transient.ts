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
