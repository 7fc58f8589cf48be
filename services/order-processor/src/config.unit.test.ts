import { loadConfig } from './config';

describe('order-processor configuration', () => {
  it('has working defaults for the local stack', () => {
    expect(loadConfig({ SES_ENDPOINT: 'http://127.0.0.1:18005' })).toMatchObject({
      HTTP_PORT: 9102,
      SES_ENDPOINT: 'http://127.0.0.1:18005',
      AWS_REGION: 'us-east-1',
      SES_REQUEST_TIMEOUT_MS: 10_000,
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
});
