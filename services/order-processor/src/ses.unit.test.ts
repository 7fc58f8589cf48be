import { SESServiceException } from '@aws-sdk/client-ses';
import { classifySendError } from './ses';

const sesError = (name: string, status: number, fault: 'client' | 'server') =>
  new SESServiceException({ name, $fault: fault, $metadata: { httpStatusCode: status }, message: `${name} happened` });
const systemError = (code: string, message = code) => Object.assign(new Error(message), { code });

describe('what a failed SES send means', () => {
  it.each<[string, unknown, ReturnType<typeof classifySendError>]>([
    [
      'throttled',
      sesError('Throttling', 400, 'client'),
      { kind: 'not-sent', retriable: true, code: 'Throttling', message: 'Throttling happened' },
    ],
    [
      '503',
      sesError('ServiceUnavailable', 503, 'server'),
      { kind: 'not-sent', retriable: true, code: 'ServiceUnavailable', message: 'ServiceUnavailable happened' },
    ],
    [
      'rejected',
      sesError('MessageRejected', 400, 'client'),
      { kind: 'not-sent', retriable: false, code: 'MessageRejected', message: 'MessageRejected happened' },
    ],
    [
      'refused',
      systemError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:1'),
      { kind: 'not-sent', retriable: true, code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:1' },
    ],
    [
      'never connected',
      Object.assign(
        new Error(
          '@smithy/node-http-handler - the request socket did not establish a connection with the server within the configured timeout of 3000 ms.',
        ),
        { name: 'TimeoutError' },
      ),
      { kind: 'not-sent', retriable: true, code: 'TimeoutError', message: expect.stringContaining('did not establish a connection') },
    ],
    [
      'timed out after sending',
      Object.assign(new Error('a request has exceeded the configured 5000 ms requestTimeout.'), {
        name: 'TimeoutError',
        code: 'ETIMEDOUT',
      }),
      { kind: 'unknown', code: 'ETIMEDOUT', message: expect.stringContaining('requestTimeout') },
    ],
    [
      'reset',
      Object.assign(systemError('ECONNRESET', 'socket hang up'), { name: 'TimeoutError' }),
      { kind: 'unknown', code: 'ECONNRESET', message: 'socket hang up' },
    ],
  ])('%s', (_name, error, expected) => {
    expect(classifySendError(error)).toEqual(expected);
  });
});
