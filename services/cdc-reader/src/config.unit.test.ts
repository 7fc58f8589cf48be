import { ConfigError } from '@pipeline/runtime';
import { loadConfig } from './config';

describe('cdc-reader configuration', () => {
  it('has working defaults for the local stack', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      HTTP_PORT: 9101,
      CDC_SLOT_NAME: 'pipeline_cdc',
      CDC_PUBLICATION: 'pipeline',
      CDC_TOPIC_PREFIX: 'cdc',
      CDC_TOPIC_PARTITIONS: 3,
      KAFKA_BROKERS: ['127.0.0.1:19092'],
      KAFKA_TOPIC_RETENTION_MS: -1,
    });
  });

  it('rejects a slot name PostgreSQL would refuse, naming the variable', () => {
    expect(() => loadConfig({ CDC_SLOT_NAME: 'Pipeline-CDC' })).toThrow(
      /CDC_SLOT_NAME: expected a replication slot name: lower case letters, digits and _, at most 63 \(got "Pipeline-CDC"\)/,
    );
  });

  it('lists every bad variable at once', () => {
    try {
      loadConfig({ CDC_TOPIC_PARTITIONS: '0', KAFKA_BROKERS: 'localhost', DATABASE_URL: 'mysql://x' });
      throw new Error('expected a ConfigError');
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const issues = (error as ConfigError).issues;
      expect(issues).toEqual([
        expect.stringMatching(/^DATABASE_URL: expected a URL such as postgres:/),
        expect.stringMatching(/^KAFKA_BROKERS: expected each broker as host:port/),
        expect.stringMatching(/^CDC_TOPIC_PARTITIONS: expected a number greater than 0 \(got "0"\)/),
      ]);
    }
  });

  it('takes an initial snapshot unless told never, and refuses anything else', () => {
    expect(loadConfig({})).toMatchObject({ CDC_SNAPSHOT_MODE: 'initial', CDC_SNAPSHOT_PAGE_ROWS: 2000 });
    expect(loadConfig({ CDC_SNAPSHOT_MODE: 'never' })).toMatchObject({ CDC_SNAPSHOT_MODE: 'never' });
    expect(() => loadConfig({ CDC_SNAPSHOT_MODE: 'always' })).toThrow(/CDC_SNAPSHOT_MODE: expected initial or never \(got "always"\)/);
  });
});
