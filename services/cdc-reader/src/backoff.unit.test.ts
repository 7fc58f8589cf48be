import { PipelineError } from '@pipeline/runtime';
import { reconnectDelayMs, reconnectReason } from './backoff';

describe('reconnection backoff', () => {
  it('doubles from 250 ms up to the cap, spread into [50 %, 100 %)', () => {
    const top = () => 0.999_999;
    const bottom = () => 0;
    expect([0, 1, 2, 3, 4, 5, 6].map((attempt) => Math.round(reconnectDelayMs(attempt, 10_000, top)))).toEqual([
      250, 500, 1000, 2000, 4000, 8000, 10_000,
    ]);
    expect(reconnectDelayMs(0, 10_000, bottom)).toBe(125);
    expect(reconnectDelayMs(20, 10_000, bottom)).toBe(5_000);
  });

  it.each<[string, unknown, string]>([
    ['a refused connection', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:54329'), { code: 'ECONNREFUSED' }), 'connection'],
    ['a reset', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), 'connection'],
    [
      'a terminated backend (57P01)',
      Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01', severity: 'FATAL' }),
      'connection',
    ],
    ['a server error', Object.assign(new Error('permission denied for table orders'), { code: '42501', severity: 'ERROR' }), 'postgres'],
    ['a Kafka client error', Object.assign(new Error('Connection error'), { name: 'KafkaJSConnectionError' }), 'kafka'],
    [
      'a wrapped cause',
      new Error('the session failed', { cause: Object.assign(new Error('x'), { name: 'KafkaJSNumberOfRetriesExceeded' }) }),
      'kafka',
    ],
    [
      'a pipeline error',
      new PipelineError('publication pipeline does not exist', { code: 'PUBLICATION_MISSING', retriable: true }),
      'publication_missing',
    ],
    ['anything else, whatever its message says', new Error('Connection to the broker terminated'), 'other'],
  ])('names %s by its structure, not its message', (_, error, reason) => {
    expect(reconnectReason(error)).toBe(reason);
  });
});
