import { PipelineError, toPipelineError } from './errors';

describe('toPipelineError', () => {
  it('keeps a PipelineError as it is', () => {
    const error = new PipelineError('schema not found', { code: 'SCHEMA_UNKNOWN', retriable: true });
    expect(toPipelineError(error)).toBe(error);
  });

  it('wraps an unknown Error as retriable, keeping it as the cause', () => {
    const cause = new Error('socket hang up');
    const wrapped = toPipelineError(cause);
    expect(wrapped).toMatchObject({ message: 'socket hang up', code: 'UNEXPECTED', retriable: true });
    expect(wrapped.cause).toBe(cause);
  });

  it('wraps a thrown non-error value', () => {
    expect(toPipelineError('boom')).toMatchObject({ message: 'non-error thrown: boom', retriable: true });
  });
});
