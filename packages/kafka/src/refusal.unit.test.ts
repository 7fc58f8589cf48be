import { UnrecoverableError } from '@pipeline/runtime';
import fc from 'fast-check';
import { KafkaJSNonRetriableError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError, KafkaJSSASLAuthenticationError } from 'kafkajs';
import { partitionOf, targetsOf } from './producer';
import { brokerErrorOf, classifyProduceError, ProduceRefusedError } from './refusal';

/** kafkajs's retrier wraps what it gives up on so (its type declarations leave out the options argument). */
const NonRetriable = KafkaJSNonRetriableError as unknown as new (e: Error, options?: { cause: Error }) => Error;
/** kafkajs's own authentication failure (declared without its message argument). */
const SaslFailure = KafkaJSSASLAuthenticationError as unknown as new (message: string) => Error;

/** What kafkajs throws when a broker answers a produce with `type`: the protocol error, wrapped as kafkajs wraps it. */
function brokerError(type: string, code: number, retriable: boolean): KafkaJSProtocolError {
  return new KafkaJSProtocolError({ message: `broker says ${type}`, type, code, retriable } as never);
}

describe('classifying a failed produce', () => {
  it('finds the broker error through kafkajs wrappers', () => {
    const invalid = brokerError('INVALID_RECORD', 87, false);
    expect(brokerErrorOf(invalid)).toEqual({ type: 'INVALID_RECORD', message: 'broker says INVALID_RECORD' });
    expect(brokerErrorOf(new NonRetriable(invalid, { cause: invalid }))?.type).toBe('INVALID_RECORD');
    const unknown = brokerError('UNKNOWN_TOPIC_OR_PARTITION', 3, true);
    expect(brokerErrorOf(new KafkaJSNumberOfRetriesExceeded(unknown, { retryCount: 5, retryTime: 100 } as never))?.type).toBe(
      'UNKNOWN_TOPIC_OR_PARTITION',
    );
    expect(brokerErrorOf(new Error('Connection closed'))).toBeUndefined();
    expect(brokerErrorOf(new SaslFailure('bad password'))?.type).toBe('SASL_AUTHENTICATION_FAILED');
  });

  it.each([
    ['INVALID_RECORD', 87, 'permanent', 'compacted topic'],
    ['INVALID_TIMESTAMP', 32, 'permanent', 'message.timestamp.difference.max.ms'],
    ['TOPIC_AUTHORIZATION_FAILED', 29, 'permanent', 'WRITE'],
    ['CLUSTER_AUTHORIZATION_FAILED', 31, 'permanent', 'IDEMPOTENT_WRITE'],
    ['POLICY_VIOLATION', 44, 'permanent', 'policy'],
    ['UNSUPPORTED_COMPRESSION_TYPE', 76, 'permanent', 'KAFKA_COMPRESSION'],
    ['MESSAGE_TOO_LARGE', 10, 'too-large', undefined],
    ['RECORD_LIST_TOO_LARGE', 18, 'too-large', undefined],
    ['NOT_LEADER_FOR_PARTITION', 6, 'retriable', undefined],
    ['NOT_ENOUGH_REPLICAS', 19, 'retriable', undefined],
    ['OUT_OF_ORDER_SEQUENCE_NUMBER', 45, 'retriable', undefined],
    ['REQUEST_TIMED_OUT', 7, 'retriable', undefined],
  ])('%s is %s', (type, code, kind, advice) => {
    const answer = brokerError(type, code, false);
    // As kafkajs's retrier wraps what it gives up on.
    const refusal = classifyProduceError(new NonRetriable(answer, { cause: answer }));
    expect(refusal.kind).toBe(kind);
    expect(refusal.brokerError).toBe(type);
    if (advice) expect(refusal.kind === 'permanent' && refusal.advice).toContain(advice);
  });

  it('an unknown topic is retriable until the producer’s topics have settled, then permanent', () => {
    const unknown = new KafkaJSNumberOfRetriesExceeded(brokerError('UNKNOWN_TOPIC_OR_PARTITION', 3, true), {} as never);
    expect(classifyProduceError(unknown).kind).toBe('retriable');
    expect(classifyProduceError(unknown, { topicsSettled: false }).kind).toBe('retriable');
    const settled = classifyProduceError(unknown, { topicsSettled: true, unknownTopicAdvice: 'create it' });
    expect(settled).toMatchObject({ kind: 'permanent', brokerError: 'UNKNOWN_TOPIC_OR_PARTITION', advice: 'create it' });
  });

  it('anything that is not a broker’s answer is retriable: connections, timeouts, values thrown', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.integer(),
          fc.constant(undefined),
          fc.string().map((m) => new Error(m)),
        ),
        (thrown) => {
          expect(classifyProduceError(thrown).kind).toBe('retriable');
        },
      ),
    );
  });

  it('a refused produce says where, what the broker said and what to do, and stops the service (exit 78)', () => {
    const refusal = classifyProduceError(brokerError('INVALID_TIMESTAMP', 32, false));
    if (refusal.kind !== 'permanent') throw new Error('expected a permanent refusal');
    const error = new ProduceRefusedError(refusal, [{ topic: 'cdc.public.orders', partitions: [2] }], 'the changes of a transaction', null);
    expect(error).toBeInstanceOf(UnrecoverableError);
    expect(error).toMatchObject({ code: 'KAFKA_REFUSED', retriable: false, brokerError: 'INVALID_TIMESTAMP' });
    expect(error.message).toBe(
      'Kafka refused the changes of a transaction for cdc.public.orders partition 2: INVALID_TIMESTAMP (broker says INVALID_TIMESTAMP). ' +
        `Retrying cannot help: ${refusal.advice}; then start the service again`,
    );
    const several = new ProduceRefusedError(
      refusal,
      [
        { topic: 'cdc.public.orders', partitions: [0, 1] },
        { topic: 'cdc.transactions', partitions: [0] },
      ],
      'the changes of a transaction',
      null,
    );
    expect(several.message).toContain(
      'for one of cdc.public.orders partitions 0, 1; cdc.transactions partition 0 (sent in one request): INVALID_TIMESTAMP',
    );
  });
});

describe('where records go', () => {
  it('an explicit partition, else the Java client’s murmur2 partition of the key', () => {
    expect(partitionOf('t', { key: 'k', value: null, partition: 4 }, 6)).toBe(4);
    expect(partitionOf('t', { key: null, value: null }, 6)).toBeUndefined();
    // Kafka's own murmur2 test vectors (UtilsTest): "21" → -973932308, "foobar" → -790332482; positive, modulo 7.
    expect([partitionOf('t', { key: '21', value: null }, 7), partitionOf('t', { key: 'foobar', value: null }, 7)]).toEqual([3, 0]);
  });

  it('sums a request up per topic, sorted', () => {
    const targets = targetsOf(
      [
        {
          topic: 'b',
          messages: [
            { key: 'x', value: null, partition: 1 },
            { key: 'y', value: null, partition: 0 },
          ],
        },
        { topic: 'a', messages: [{ key: null, value: null }] },
      ],
      () => 3,
    );
    expect(targets).toEqual([
      { topic: 'a', partitions: [] },
      { topic: 'b', partitions: [0, 1] },
    ]);
  });
});
