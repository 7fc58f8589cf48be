import { ProduceRefusedError } from '@pipeline/kafka';
import { PipelineError } from '@pipeline/runtime';
import { KafkaJSNonRetriableError, KafkaJSProtocolError } from 'kafkajs';
import { interruptionCause, SNAPSHOT_ATTEMPTS, snapshotKeepsFailing } from './interruptions';

/** kafkajs's retrier wraps what it gives up on so (its type declarations leave out the options argument). */
const NonRetriable = KafkaJSNonRetriableError as unknown as new (e: Error, options?: { cause: Error }) => Error;

describe('what interrupted a snapshot', () => {
  it('is keyed by what stays the same between attempts: a code, the broker’s error, a SQLSTATE, a system code', () => {
    const refused = new ProduceRefusedError(
      { kind: 'permanent', brokerError: 'INVALID_RECORD', message: 'failed validation', advice: 'key it' },
      [{ topic: 'cdc.public.orders', partitions: [0] }],
      'the end-of-snapshot records of public.orders',
      null,
    );
    expect(interruptionCause(refused).cause).toBe('KAFKA_REFUSED:INVALID_RECORD');
    expect(interruptionCause(new PipelineError('gone', { code: 'PUBLICATION_MISSING', retriable: true })).cause).toBe(
      'PUBLICATION_MISSING',
    );
    const answer = new KafkaJSProtocolError({
      message: 'leader moved',
      type: 'NOT_LEADER_FOR_PARTITION',
      code: 6,
      retriable: true,
    } as never);
    expect(interruptionCause(new NonRetriable(answer, { cause: answer })).cause).toBe('kafka:NOT_LEADER_FOR_PARTITION');
    const denied = Object.assign(new Error('permission denied for table orders'), { code: '42501', severity: 'ERROR' });
    expect(interruptionCause(denied)).toEqual({ cause: 'postgres:42501', message: 'permission denied for table orders' });
    expect(interruptionCause(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })).cause).toBe('system:ECONNREFUSED');
  });

  it('leaves numbers out of a bare message, so a timeout after 30012 ms and one after 30007 ms are one cause', () => {
    const a = interruptionCause(new Error('timed out after 30012 ms'));
    const b = interruptionCause(new Error('timed out after 30007 ms'));
    expect(a.cause).toBe(b.cause);
    expect(a.message).toBe('timed out after 30012 ms');
    expect(interruptionCause(new Error('another thing')).cause).not.toBe(a.cause);
  });

  it('stops the reader after the third in a row, saying the cause and what to do', () => {
    expect(SNAPSHOT_ATTEMPTS).toBe(3);
    const error = snapshotKeepsFailing('pipeline', 3, 'permission denied for table orders');
    expect(error).toMatchObject({ code: 'SNAPSHOT_KEEPS_FAILING', retriable: false, name: 'UnrecoverableError' });
    expect(error.message).toBe(
      'the initial snapshot of slot pipeline was interrupted 3 times in a row by the same cause: permission denied for table orders. ' +
        'The reader stops instead of dropping the slot and starting over again: remove the cause, then start the reader again (it ' +
        "takes a new snapshot; 'pipeline slot status' shows what interrupted the last one)",
    );
  });
});
