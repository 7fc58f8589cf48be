import { parseConfig } from '@pipeline/runtime';
import { checkKafkaEnv, kafkaEnvSchema, toKafkaConfig } from './config';

const schema = kafkaEnvSchema.superRefine(checkKafkaEnv);
const parse = (env: Record<string, string>) => parseConfig('svc', schema, env);

describe('Kafka connection settings', () => {
  it('defaults to the local stack broker, plain TCP', () => {
    expect(toKafkaConfig(parse({}), 'svc')).toEqual({
      clientId: 'svc',
      brokers: ['127.0.0.1:19092'],
      connectionTimeout: 10_000,
      requestTimeout: 30_000,
    });
  });

  it('reaches a production cluster with TLS and SCRAM by configuration alone', () => {
    const files: Record<string, string> = { '/ca.pem': 'CA', '/cert.pem': 'CERT', '/key.pem': 'KEY' };
    const config = toKafkaConfig(
      parse({
        KAFKA_BROKERS: 'b-1.kafka.internal:9096, b-2.kafka.internal:9096',
        KAFKA_CLIENT_ID: 'orders-prod',
        KAFKA_SSL: 'true',
        KAFKA_SSL_CA_FILE: '/ca.pem',
        KAFKA_SSL_CERT_FILE: '/cert.pem',
        KAFKA_SSL_KEY_FILE: '/key.pem',
        KAFKA_SASL_MECHANISM: 'scram-sha-512',
        KAFKA_SASL_USERNAME: 'orders',
        KAFKA_SASL_PASSWORD: 'pw',
      }),
      'svc',
      (path) => files[path] ?? '',
    );
    expect(config).toMatchObject({
      clientId: 'orders-prod',
      brokers: ['b-1.kafka.internal:9096', 'b-2.kafka.internal:9096'],
      ssl: { rejectUnauthorized: true, ca: ['CA'], cert: 'CERT', key: 'KEY' },
      sasl: { mechanism: 'scram-sha-512', username: 'orders', password: 'pw' },
    });
  });

  it('supports SASL PLAIN over TLS with the system CAs', () => {
    const config = toKafkaConfig(
      parse({ KAFKA_SSL: 'true', KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' }),
      'svc',
    );
    expect(config.ssl).toEqual({ rejectUnauthorized: true });
    expect(config.sasl).toEqual({ mechanism: 'plain', username: 'u', password: 'p' });
  });

  it('rejects incomplete or contradictory settings, naming the variable', () => {
    expect(() => parse({ KAFKA_SASL_MECHANISM: 'scram-sha-256' })).toThrow(
      /KAFKA_SASL_USERNAME: required when KAFKA_SASL_MECHANISM is scram-sha-256[\s\S]*KAFKA_SASL_PASSWORD: required when/,
    );
    expect(() => parse({ KAFKA_SSL_CA_FILE: '/ca.pem' })).toThrow(/KAFKA_SSL: must be true when a KAFKA_SSL_\*_FILE is set/);
    expect(() => parse({ KAFKA_SASL_MECHANISM: 'gssapi' })).toThrow(
      /KAFKA_SASL_MECHANISM: expected one of plain, scram-sha-256, scram-sha-512/,
    );
    expect(() => parse({ KAFKA_BROKERS: ' , ' })).toThrow(/KAFKA_BROKERS: expected at least one broker/);
  });

  it('says which file it could not read', () => {
    expect(() => toKafkaConfig(parse({ KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: '/nonexistent/ca.pem' }), 'svc')).toThrow(
      /cannot read TLS file \/nonexistent\/ca.pem: .*check the KAFKA_SSL_\*_FILE variables/,
    );
  });
});
