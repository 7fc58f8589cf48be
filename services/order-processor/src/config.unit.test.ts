import type { Env } from '@pipeline/runtime';
import { loadConfig as load } from './config';

/** What every order-processor must be given. */
const REQUIRED = { INVOICE_STORE_DIR: '/tmp/invoices', INVOICE_LINK_SECRET: 's'.repeat(32) };
const loadConfig = (env: Env) => load({ ...REQUIRED, ...env });

describe('order-processor configuration', () => {
  it('has working defaults for the local stack', () => {
    expect(loadConfig({ SES_ENDPOINT: 'http://127.0.0.1:18005' })).toMatchObject({
      HTTP_PORT: 9102,
      SES_ENDPOINT: 'http://127.0.0.1:18005',
      AWS_REGION: 'us-east-1',
      SES_REQUEST_TIMEOUT_MS: 5_000,
      INVOICE_LINK_TTL_SECONDS: 2_592_000,
      RETRY_DELAYS_MS: [5_000, 60_000, 600_000],
    });
  });

  it('rejects a sender that is not an email address, naming the variable', () => {
    expect(() => loadConfig({ SES_FROM_ADDRESS: 'orders' })).toThrow(
      /SES_FROM_ADDRESS: expected an email address verified in SES \(got "orders"\)/,
    );
  });

  it('rejects a malformed retry ladder', () => {
    expect(() => loadConfig({ RETRY_DELAYS_MS: '5s,1m' })).toThrow(/RETRY_DELAYS_MS: expected comma-separated positive whole milliseconds/);
  });

  it('requires SASL credentials with a SASL mechanism and never echoes the password', () => {
    let message = '';
    try {
      loadConfig({ KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'svc', KAFKA_SSL: 'maybe', KAFKA_SASL_PASSWORD: '' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/KAFKA_SSL: expected one of true, false/);
    expect(message).toMatch(/KAFKA_SASL_PASSWORD: /);
  });

  it('requires an invoice store and a link secret of at least 32 characters, never echoing the secret', () => {
    let message = '';
    try {
      load({ INVOICE_LINK_SECRET: 'short' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('INVOICE_STORE_DIR: required: the folder invoice PDFs are stored in (it is not set)');
    expect(message).toContain(
      'INVOICE_LINK_SECRET: expected at least 32 characters of secret (`openssl rand -hex 32` makes one) (got "[redacted]")',
    );
    expect(message).not.toContain('short');
  });

  it('keeps an SES request below the handler deadline, and wants both AWS keys or neither', () => {
    expect(() => loadConfig({ SES_REQUEST_TIMEOUT_MS: '10000' })).toThrow(
      /SES_REQUEST_TIMEOUT_MS: must be below HANDLER_TIMEOUT_MS \(10000\), or a slow send outlives its handler/,
    );
    expect(() => loadConfig({ AWS_ACCESS_KEY_ID: 'AKIA' })).toThrow(
      /AWS_SECRET_ACCESS_KEY: set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or neither/,
    );
  });
});
