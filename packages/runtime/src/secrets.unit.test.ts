import { Writable } from 'node:stream';
import { z } from 'zod';
import { parseConfig } from './config';
import { makeLogger } from './logger';
import { isSecretSetting, redactSecretKeys, SECRET_SETTINGS, SecretScrubber } from './secrets';

function capture(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  return {
    stream: new Writable({
      write(chunk, _encoding, callback) {
        chunks.push(String(chunk));
        callback();
      },
    }),
    text: () => chunks.join(''),
  };
}

const env = {
  DATABASE_URL: 'postgres://owner:Owner-Pass-7431@db.example.com:5432/app',
  CDC_DATABASE_URL: 'postgres://reader:Reader-Pass-8812@db.example.com/app',
  CDC_READER_PASSWORD: 'cdc-reader-password-x1',
  PIPELINE_READER_PASSWORD: 'pipeline-reader-password-x2',
  PIPELINE_PG_PASSWORD: 'local-pg-password-x3',
  INVOICE_LINK_SECRET: 'invoice-link-secret-0123456789abcdef0123',
  WEBHOOK_SECRETS_KEY: 'd2ViaG9vay1zZWNyZXRzLWtleS0zMi1ieXRlcyEhISE=',
  AWS_SECRET_ACCESS_KEY: 'aws/secret+access=key"quoted\\slash',
  KAFKA_SASL_PASSWORD: 'kafka-sasl-password-x4',
};
const values = [
  'Owner-Pass-7431',
  'Reader-Pass-8812',
  ...Object.entries(env)
    .filter(([name]) => !name.endsWith('_URL'))
    .map(([, value]) => value),
];

describe('secrets never reach a line', () => {
  it('covers every secret setting', () => {
    expect([...SECRET_SETTINGS].sort()).toEqual(Object.keys(env).sort());
  });

  it('scrubs every secret value from log lines, at any depth, in messages and error stacks', () => {
    const secrets = new SecretScrubber();
    secrets.addSettings(env);
    const out = capture();
    const logger = makeLogger({ service: 's', level: 'info', destination: out.stream, secrets });
    for (const value of values) {
      logger.info({ a: { b: { c: { d: value } } }, list: [value] }, `message with ${value}`);
      logger.error({ err: new Error(`failed: ${value}`) }, 'boom');
      logger.warn({ nested: { config: { KAFKA_SASL_PASSWORD: 'short', password: 'pw', token: value } } }, 'deep');
    }
    const text = out.text();
    for (const value of values) expect(text).not.toContain(value);
    expect(text).not.toContain('aws/secret+access=key');
    expect(text).not.toContain('"short"');
    expect(text).not.toContain('"pw"');
    expect(text).toContain('[redacted]');
  });

  it('scrubs any URL’s password, known or not, and JSON- or URL-encoded spellings of known ones', () => {
    const secrets = new SecretScrubber();
    secrets.add('a "quoted" secret value');
    expect(secrets.scrub('connect to postgres://u:hunter2@h:5432/db failed')).toBe('connect to postgres://u:[redacted]@h:5432/db failed');
    expect(secrets.scrub('cannot connect to postgres://u:redacted@h/db')).toBe('cannot connect to postgres://u:redacted@h/db');
    expect(secrets.scrub(JSON.stringify({ v: 'a "quoted" secret value' }))).toBe('{"v":"[redacted]"}');
    expect(secrets.scrub(encodeURIComponent('a "quoted" secret value'))).toBe('[redacted]');
  });

  it('leaves local defaults readable: a password that repeats its user name, a short free-text one', () => {
    const secrets = new SecretScrubber();
    secrets.addSettings({ DATABASE_URL: 'postgres://pipeline:pipeline@127.0.0.1:54329/pipeline', KAFKA_SASL_PASSWORD: 'short' });
    expect(secrets.scrub('pipeline start: short and sweet')).toBe('pipeline start: short and sweet');
    expect(secrets.scrub('postgres://pipeline:pipeline@127.0.0.1:54329/pipeline')).toBe(
      'postgres://pipeline:[redacted]@127.0.0.1:54329/pipeline',
    );
  });

  it('redacts secret keys at any depth, leaving other values and errors as they are', () => {
    const error = new Error('x');
    const object = { a: { b: { c: { password: 'p', keep: 1 } } }, err: error, list: [{ secret: 's' }] };
    expect(redactSecretKeys(object)).toEqual({
      a: { b: { c: { password: '[redacted]', keep: 1 } } },
      err: error,
      list: [{ secret: '[redacted]' }],
    });
    const plain = { a: 1 };
    expect(redactSecretKeys(plain)).toBe(plain);
  });

  it('never echoes a secret or a URL’s password in a configuration error', () => {
    const schema = z.object({
      DATABASE_URL: z.url().refine(() => false, { error: 'not reachable' }),
      INVOICE_LINK_SECRET: z.string().min(100),
      OTHER: z.string().regex(/^x$/),
    });
    let message = '';
    try {
      parseConfig('svc', schema, {
        DATABASE_URL: env.DATABASE_URL,
        INVOICE_LINK_SECRET: env.INVOICE_LINK_SECRET,
        OTHER: 'user:Pw-123456789@host',
      });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('DATABASE_URL: not reachable (got "postgres://owner:redacted@db.example.com:5432/app")');
    expect(message).toContain('INVOICE_LINK_SECRET');
    expect(message).toContain('OTHER');
    for (const value of ['Owner-Pass-7431', env.INVOICE_LINK_SECRET, 'Pw-123456789']) expect(message).not.toContain(value);
    expect(isSecretSetting('DATABASE_URL')).toBe(false);
    expect(isSecretSetting('WEBHOOK_SECRETS_KEY')).toBe(true);
  });
});
