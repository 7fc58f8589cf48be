import { UnrecoverableError } from '@pipeline/runtime';

/**
 * What a failed produce means to the producer: try again (a broker away, a leader moving), fit the
 * records to the topic's limit (the wide-row path), or stop and ask a person, because the brokers
 * will refuse the same records the same way however often they are sent.
 */
export type ProduceRefusal =
  | { kind: 'retriable'; brokerError: string; message: string }
  | { kind: 'too-large'; brokerError: string; message: string }
  | { kind: 'permanent'; brokerError: string; message: string; advice: string };

/** Kafka's error names (as kafkajs spells them) for a record or request the brokers find too large. */
const TOO_LARGE = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);

/** Refusals that repeat on every retry, with what to do about each. */
const PERMANENT: Readonly<Record<string, string>> = {
  INVALID_RECORD:
    'the brokers validated the records and refused them: a compacted topic (cleanup.policy=compact) refuses records without a key, ' +
    'and a broker-side validation (a schema or record policy) can refuse others. Check the topic settings ' +
    '(kafka-configs --describe --entity-type topics --entity-name TOPIC)',
  INVALID_TIMESTAMP:
    'the record timestamps are outside what the topic accepts (message.timestamp.difference.max.ms, or message.timestamp.before.max.ms ' +
    'and message.timestamp.after.max.ms): remove or raise those settings on the topic, and check that this host’s clock is right',
  TOPIC_AUTHORIZATION_FAILED:
    'this client may not write to the topic: grant its principal WRITE and DESCRIBE on it (kafka-acls --add --operation Write --topic TOPIC)',
  CLUSTER_AUTHORIZATION_FAILED:
    'this client may not use the idempotent producer: grant its principal IDEMPOTENT_WRITE on the cluster (kafka-acls --add --operation IdempotentWrite --cluster)',
  TRANSACTIONAL_ID_AUTHORIZATION_FAILED: 'this client may not use its transactional id: grant its principal WRITE on it',
  SASL_AUTHENTICATION_FAILED:
    'the brokers refused this client’s credentials: check KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD',
  UNSUPPORTED_SASL_MECHANISM: 'the brokers do not offer this SASL mechanism: set KAFKA_SASL_MECHANISM to one they enable',
  ILLEGAL_SASL_STATE: 'the SASL handshake failed: check the KAFKA_SASL_* settings against the brokers’ listener',
  INVALID_TOPIC_EXCEPTION: 'the topic name is not valid for Kafka: change the setting that names it (a topic prefix or topic name)',
  POLICY_VIOLATION: 'a policy on the brokers refuses the request: ask the cluster’s owner which, or change the topic to satisfy it',
  INVALID_REQUIRED_ACKS:
    'the brokers refuse acks=all (every in-sync replica): the pipeline needs it, so check the brokers’ version and settings',
  UNSUPPORTED_FOR_MESSAGE_FORMAT:
    'the topic’s message format is too old for what the producer sends: raise the topic’s message.format.version',
  UNSUPPORTED_COMPRESSION_TYPE: 'the brokers do not accept this compression: set KAFKA_COMPRESSION=none or upgrade the brokers',
  UNSUPPORTED_VERSION: 'the brokers do not support the producer’s request version: upgrade the brokers (Kafka 2.8 or newer)',
};

/** What kafkajs names an authentication failure outside the protocol's error codes. */
const SASL_ERROR = 'KafkaJSSASLAuthenticationError';

interface ErrorLink {
  name?: unknown;
  type?: unknown;
  message?: unknown;
  cause?: unknown;
  originalError?: unknown;
}

/**
 * The brokers' own error inside what kafkajs threw: kafkajs wraps it (KafkaJSNonRetriableError,
 * KafkaJSNumberOfRetriesExceeded) in `cause` or `originalError`. Undefined when nothing in the
 * chain came from a broker (a connection closed, a timeout).
 */
export function brokerErrorOf(error: unknown): { type: string; message: string } | undefined {
  let link = error as ErrorLink | undefined;
  for (let depth = 0; link && typeof link === 'object' && depth < 8; depth++) {
    if (typeof link.type === 'string') return { type: link.type, message: String(link.message ?? link.type) };
    if (link.name === SASL_ERROR) return { type: 'SASL_AUTHENTICATION_FAILED', message: String(link.message) };
    const next = (link.cause ?? link.originalError) as ErrorLink | undefined;
    if (next === link) break;
    link = next;
  }
  return undefined;
}

export interface ClassifyOptions {
  /**
   * The topic should exist: the producer made sure of it long enough ago that a broker's metadata
   * has caught up. An unknown topic is then permanent (deleted, and not created on use), not a
   * broker that has not heard of it yet.
   */
  topicsSettled?: boolean;
  /** What to do about a topic that no longer exists, in the producer's terms. */
  unknownTopicAdvice?: string;
}

/** Sorts a failed produce (anything kafkajs threw from send or sendBatch) into retriable, too large and permanent. */
export function classifyProduceError(error: unknown, options: ClassifyOptions = {}): ProduceRefusal {
  const found = brokerErrorOf(error);
  const message = found?.message ?? (error instanceof Error ? error.message : String(error));
  const brokerError = found?.type ?? (error instanceof Error ? error.name : 'UNKNOWN');
  if (found && TOO_LARGE.has(found.type)) return { kind: 'too-large', brokerError, message };
  const advice = found ? PERMANENT[found.type] : undefined;
  if (advice) return { kind: 'permanent', brokerError, message, advice };
  if (found?.type === 'UNKNOWN_TOPIC_OR_PARTITION' && options.topicsSettled) {
    return {
      kind: 'permanent',
      brokerError,
      message,
      advice:
        options.unknownTopicAdvice ??
        'the topic does not exist (was it deleted?) and the brokers do not create topics on use: create it again with the settings it had',
    };
  }
  return { kind: 'retriable', brokerError, message };
}

/** Where refused records were going: each topic with the partitions they were for. */
export type RefusedTarget = readonly { topic: string; partitions: readonly number[] }[];

function describeTarget(target: RefusedTarget): string {
  const parts = target.map(({ topic, partitions }) =>
    partitions.length === 0 ? topic : `${topic} partition${partitions.length === 1 ? '' : 's'} ${partitions.join(', ')}`,
  );
  if (parts.length === 1) return parts[0] as string;
  return `one of ${parts.join('; ')} (sent in one request)`;
}

/** A produce the brokers will refuse however often it is sent: the process stops (exit 78) and says what to do. */
export class ProduceRefusedError extends UnrecoverableError {
  readonly brokerError: string;
  readonly target: RefusedTarget;

  constructor(refusal: Extract<ProduceRefusal, { kind: 'permanent' }>, target: RefusedTarget, what: string, cause: unknown) {
    super(
      `Kafka refused ${what} for ${describeTarget(target)}: ${refusal.brokerError} (${refusal.message}). ` +
        `Retrying cannot help: ${refusal.advice}; then start the service again`,
      { code: 'KAFKA_REFUSED', cause },
    );
    this.name = 'ProduceRefusedError';
    this.brokerError = refusal.brokerError;
    this.target = target;
  }
}
