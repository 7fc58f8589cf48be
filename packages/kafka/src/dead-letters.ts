import { EVENT_HEADERS } from '@pipeline/schemas';
import type { IHeaders, Kafka, KafkaMessage, Producer, ProducerRecord } from 'kafkajs';
import { makeProducer } from './producer';
import { readTopicToEnd } from './read-topic';
import { classifyProduceError, ProduceRefusedError } from './refusal';
import { FAILURE_HEADERS, redriveTopic } from './retry';

/**
 * Headers a cdc-reader dead letter (a change it could not encode, on CDC_DLQ_TOPIC) carries
 * besides the failure headers every dead letter has.
 */
export const READER_DLQ_HEADERS = {
  /** The error message (the header every reader version wrote). */
  errorMessage: 'error-message',
  sourceTable: 'source-table',
  /** The commit LSN of the transaction the change belongs to. */
  sourceLsn: 'source-lsn',
} as const;

/** One message of a service's dead-letter topic, with the story its headers tell. */
export interface DeadLetter {
  partition: number;
  offset: string;
  /** When it was dead-lettered, ms since the epoch. */
  timestampMs: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
  eventId?: string;
  originalTopic: string;
  originalPartition: number;
  originalOffset: string;
  attempt: number;
  firstFailureAtMs: number;
  errorName: string;
  errorCode: string;
  errorMessage: string;
  errorStack: string;
}

export function headersAsText(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value === undefined) continue;
    out[name] = (Array.isArray(value) ? value[0] : value)?.toString() ?? '';
  }
  return out;
}

export function toDeadLetter(message: KafkaMessage, partition: number): DeadLetter {
  const headers = headersAsText(message.headers);
  const h = (name: string) => headers[name] ?? '';
  return {
    partition,
    offset: message.offset,
    timestampMs: Number(message.timestamp),
    key: message.key,
    value: message.value,
    headers,
    ...(headers[EVENT_HEADERS.eventId] ? { eventId: headers[EVENT_HEADERS.eventId] } : {}),
    originalTopic: h(FAILURE_HEADERS.originalTopic),
    originalPartition: Number(h(FAILURE_HEADERS.originalPartition)),
    originalOffset: h(FAILURE_HEADERS.originalOffset),
    attempt: Number(h(FAILURE_HEADERS.attempt)),
    firstFailureAtMs: Number(h(FAILURE_HEADERS.firstFailureAtMs)),
    errorName: h(FAILURE_HEADERS.errorName),
    errorCode: h(FAILURE_HEADERS.errorCode),
    errorMessage: h(FAILURE_HEADERS.errorMessage),
    errorStack: h(FAILURE_HEADERS.errorStack),
  };
}

export interface DeadLetterFilter {
  /** Case-insensitive text in the error code, name or message. */
  error?: string;
  /** The topic the event was first read from. */
  sourceTopic?: string;
}

export function matchesFilter(letter: DeadLetter, filter: DeadLetterFilter): boolean {
  if (filter.sourceTopic && letter.originalTopic !== filter.sourceTopic) return false;
  if (filter.error) {
    const text = `${letter.errorCode} ${letter.errorName} ${letter.errorMessage}`.toLowerCase();
    if (!text.includes(filter.error.toLowerCase())) return false;
  }
  return true;
}

/** Every dead letter of a dead-letter topic (a group's, or the cdc-reader's CDC_DLQ_TOPIC), oldest first per partition. */
export async function readDeadLetterTopic(
  kafka: Kafka,
  topic: string,
  onProgress?: (done: number, total: number) => void,
): Promise<DeadLetter[]> {
  const letters: DeadLetter[] = [];
  await readTopicToEnd(kafka, topic, {
    onMessage: (message, partition) => letters.push(toDeadLetter(message, partition)),
    ...(onProgress ? { onProgress } : {}),
  });
  return letters.sort((a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)));
}

export const REDRIVE_HEADERS = {
  redrivenBy: 'pipeline-redriven-by',
  redrivenAtMs: 'pipeline-redriven-at-ms',
  deadLetter: 'pipeline-dead-letter',
} as const;

/** One redrive send; a refusal no retry passes says so, with what to do (the letters stay where they are). */
async function sendOrExplain(producer: Producer, group: string, record: ProducerRecord): Promise<void> {
  try {
    await producer.send(record);
  } catch (error) {
    const refusal = classifyProduceError(error, {
      topicsSettled: true,
      unknownTopicAdvice: `the redrive topic does not exist: start the ${group} service once (it creates its topics), then redrive again`,
    });
    if (refusal.kind === 'retriable') throw error;
    const permanent =
      refusal.kind === 'permanent'
        ? refusal
        : { ...refusal, kind: 'permanent' as const, advice: `raise max.message.bytes of ${record.topic} to that of the dead-letter topic` };
    throw new ProduceRefusedError(permanent, [{ topic: record.topic, partitions: [] }], 'the redriven letters', error);
  }
}

/**
 * Sends dead letters back to their consumer group through its own redrive topic (never to a
 * shared source topic other services read), acknowledged by Kafka before this returns. The copies
 * keep key, value and headers (their history) and say who redrove them and when.
 */
export async function sendToRedrive(
  kafka: Kafka,
  group: string,
  letters: readonly DeadLetter[],
  actor: string,
  onProgress?: (done: number) => void,
): Promise<void> {
  const producer = makeProducer(kafka);
  await producer.connect();
  try {
    const now = String(Date.now());
    for (let i = 0; i < letters.length; i += 100) {
      const chunk = letters.slice(i, i + 100);
      await sendOrExplain(producer, group, {
        topic: redriveTopic(group),
        acks: -1,
        messages: chunk.map((letter) => {
          const { [FAILURE_HEADERS.dueAtMs]: _due, ...kept } = letter.headers;
          return {
            key: letter.key,
            value: letter.value,
            headers: {
              ...kept,
              [REDRIVE_HEADERS.redrivenBy]: actor,
              [REDRIVE_HEADERS.redrivenAtMs]: now,
              [REDRIVE_HEADERS.deadLetter]: `${letter.partition}:${letter.offset}`,
            },
          };
        }),
      });
      onProgress?.(i + chunk.length);
    }
  } finally {
    await producer.disconnect();
  }
}
