import { PipelineError } from '@pipeline/runtime';
import { deadLetterTopic, FAILURE_HEADERS, failureHeaders, readFailureHeaders, retryTopic, routeFailure } from './retry';

const policy = { group: 'order-processor', delaysMs: [5_000, 60_000, 600_000], jitter: 0 };
const retriable = new PipelineError('SES throttled', { code: 'THROTTLED', retriable: true });
const permanent = new PipelineError('order has no customer', { code: 'INVALID', retriable: false });

describe('retry routing', () => {
  it('names topics after the consumer group', () => {
    expect(retryTopic('order-processor', 2)).toBe('order-processor.retry.2');
    expect(deadLetterTopic('order-processor')).toBe('order-processor.dlq');
  });

  it('climbs the ladder: attempt n goes to retry topic n, due after the n-th delay', () => {
    expect(routeFailure(policy, retriable, 1, 1_000)).toEqual({
      kind: 'retry',
      topic: 'order-processor.retry.1',
      attempt: 2,
      dueAtMs: 6_000,
    });
    expect(routeFailure(policy, retriable, 2, 1_000)).toEqual({
      kind: 'retry',
      topic: 'order-processor.retry.2',
      attempt: 3,
      dueAtMs: 61_000,
    });
    expect(routeFailure(policy, retriable, 3, 1_000)).toEqual({
      kind: 'retry',
      topic: 'order-processor.retry.3',
      attempt: 4,
      dueAtMs: 601_000,
    });
  });

  it('dead-letters after the last attempt, and at once when a retry cannot help', () => {
    expect(routeFailure(policy, retriable, 4, 0)).toEqual({
      kind: 'dead-letter',
      topic: 'order-processor.dlq',
      attempt: 4,
      reason: 'retries exhausted after 4 attempts',
    });
    expect(routeFailure(policy, permanent, 1, 0)).toEqual({
      kind: 'dead-letter',
      topic: 'order-processor.dlq',
      attempt: 1,
      reason: 'not retriable (INVALID)',
    });
  });

  it('treats an unknown throw as retriable (it may be a passing fault)', () => {
    expect(routeFailure(policy, new Error('ECONNRESET'), 1, 0).kind).toBe('retry');
  });

  it('spreads due times by the jitter, never below zero delay', () => {
    const withJitter = { ...policy, jitter: 0.1 };
    expect(routeFailure(withJitter, retriable, 1, 0, () => 0)).toMatchObject({ dueAtMs: 4_500 });
    expect(routeFailure(withJitter, retriable, 1, 0, () => 0.999999)).toMatchObject({ dueAtMs: 5_500 });
  });
});

describe('failure headers', () => {
  it('carry the original position, attempts, first failure, group and the error, and read back', () => {
    const cause = new TypeError('Cannot read properties of undefined');
    const headers = failureHeaders({
      originalTopic: 'cdc.public.orders',
      originalPartition: 2,
      originalOffset: '42',
      attempt: 1,
      firstFailureAtMs: 1_000,
      consumerGroup: 'order-processor',
      error: cause,
      dueAtMs: 6_000,
    });
    expect(headers).toMatchObject({
      [FAILURE_HEADERS.originalTopic]: 'cdc.public.orders',
      [FAILURE_HEADERS.originalPartition]: '2',
      [FAILURE_HEADERS.originalOffset]: '42',
      [FAILURE_HEADERS.attempt]: '1',
      [FAILURE_HEADERS.firstFailureAtMs]: '1000',
      [FAILURE_HEADERS.consumerGroup]: 'order-processor',
      [FAILURE_HEADERS.errorName]: 'TypeError',
      [FAILURE_HEADERS.errorCode]: 'UNEXPECTED',
      [FAILURE_HEADERS.errorMessage]: 'Cannot read properties of undefined',
      [FAILURE_HEADERS.dueAtMs]: '6000',
    });
    expect(headers[FAILURE_HEADERS.errorStack]).toContain('TypeError: Cannot read properties of undefined');
    const asKafkaGivesThem = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, Buffer.from(v)]));
    expect(readFailureHeaders(asKafkaGivesThem)).toEqual({
      originalTopic: 'cdc.public.orders',
      originalPartition: 2,
      originalOffset: '42',
      attempt: 1,
      firstFailureAtMs: 1_000,
      dueAtMs: 6_000,
    });
    expect(readFailureHeaders({ 'event-id': Buffer.from('x') })).toBeUndefined();
  });

  it('cut a long stack', () => {
    const error = new Error('deep');
    error.stack = `Error: deep\n${'    at frame (file.js:1:1)\n'.repeat(1000)}`;
    const headers = failureHeaders({
      originalTopic: 't',
      originalPartition: 0,
      originalOffset: '0',
      attempt: 1,
      firstFailureAtMs: 0,
      consumerGroup: 'g',
      error,
    });
    expect(headers[FAILURE_HEADERS.errorStack]?.length).toBe(2_000);
  });
});
