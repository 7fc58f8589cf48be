import { loadConfig } from './config';

describe('metrics-projector configuration', () => {
  it('has working defaults for the local stack', () => {
    expect(loadConfig({})).toMatchObject({ HTTP_PORT: 9104, PROJECTION_NAME: 'sales_metrics', LOG_LEVEL: 'info' });
  });

  it('rejects an unknown log level, naming the variable', () => {
    expect(() => loadConfig({ LOG_LEVEL: 'verbose' })).toThrow(
      /LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent \(got "verbose"\)/,
    );
  });

  it('rejects mutual TLS with a certificate but no key', () => {
    expect(() => loadConfig({ KAFKA_SSL: 'true', KAFKA_SSL_CERT_FILE: '/etc/kafka/client.pem' })).toThrow(
      /KAFKA_SSL_KEY_FILE: KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE go together/,
    );
  });
});
