import { classifyProduceError, ProduceRefusedError, targetsOf } from '@pipeline/kafka';
import { PipelineError } from '@pipeline/runtime';
import type { Message } from 'kafkajs';

/**
 * How long after the reader made sure of its topics an unknown topic may still be a broker whose
 * metadata has not caught up, ms; after it, the topic is gone (deleted, and not created on use).
 */
export const TOPIC_GRACE_MS = 30_000;

export interface ProduceContext {
  /** What was being written, for the message: "the changes of a transaction", "the snapshot of public.orders". */
  what: string;
  /** The records of the refused request. */
  topicMessages: readonly { topic: string; messages: readonly Message[] }[];
  /** Partition count of a topic the reader writes (0 when unknown). */
  partitions: (topic: string) => number;
  /** When the reader last created or verified its topics, ms since the epoch. */
  topicsEnsuredAtMs: number;
  nowMs: number;
}

/**
 * What a failed produce means to the reader. A permanent refusal (an invalid record, a topic it
 * may not write, one deleted since it made sure of it …) becomes a ProduceRefusedError, which
 * stops the reader with exit code 78 and leaves the slot where it was. One too large says so and
 * is retried: the next session reads every topic's max.message.bytes anew and fits its records to
 * it (the wide-row path). Anything else is returned as it is and retried with backoff.
 */
export function produceFailure(error: unknown, context: ProduceContext): unknown {
  const refusal = classifyProduceError(error, {
    topicsSettled: context.nowMs - context.topicsEnsuredAtMs > TOPIC_GRACE_MS,
    unknownTopicAdvice:
      'the topic does not exist (was it deleted?) and the brokers do not create topics on use. Starting the reader again creates ' +
      'its missing topics (CDC_TOPIC_PARTITIONS partitions); consumers then read the new topic from its start',
  });
  switch (refusal.kind) {
    case 'permanent':
      return new ProduceRefusedError(refusal, targetsOf(context.topicMessages, context.partitions), context.what, error);
    case 'too-large':
      return new PipelineError(
        `Kafka refused ${context.what} as too large (${refusal.brokerError}): a topic's max.message.bytes was lowered since the ` +
          'session read it; the next session reads the limits anew and fits every record to them',
        { code: 'KAFKA_TOO_LARGE', retriable: true, cause: error },
      );
    default:
      return error;
  }
}
