import { parseConfig } from '@pipeline/runtime';
import { consumerServiceEnvSchema } from './config';

const load = (env: Record<string, string>) => parseConfig('svc', consumerServiceEnvSchema({ httpPort: 9199 }).extend({}), env);

describe('the consumer kit’s configuration', () => {
  it('has working defaults', () => {
    expect(load({})).toMatchObject({
      CDC_TOPIC_PREFIX: 'cdc',
      SCHEMA_TOPIC: '_pipeline.schemas',
      DLQ_ALERT_WINDOW_MS: 900_000,
      BOOKKEEPING_RETENTION_DAYS: 30,
      BOOKKEEPING_PRUNE_CRON: '20 3 * * *',
      BOOKKEEPING_PRUNE_TZ: 'UTC',
    });
  });

  it('keeps its cross-field checks when a service extends it', () => {
    expect(() => load({ HANDLER_TIMEOUT_MS: '30000' })).toThrow(/HANDLER_TIMEOUT_MS: must be below CONSUMER_SESSION_TIMEOUT_MS \(30000\)/);
    expect(() => load({ KAFKA_SASL_MECHANISM: 'plain' })).toThrow(/KAFKA_SASL_USERNAME: required when KAFKA_SASL_MECHANISM is plain/);
  });

  it('refuses a prune schedule it cannot read, naming the variable', () => {
    expect(() => load({ BOOKKEEPING_PRUNE_CRON: '3am daily' })).toThrow(
      /BOOKKEEPING_PRUNE_CRON: invalid schedule "3am daily" in "UTC": it has 2 fields, not 5/,
    );
    expect(() => load({ BOOKKEEPING_PRUNE_TZ: 'Mars/Olympus' })).toThrow(
      /BOOKKEEPING_PRUNE_CRON: invalid schedule "20 3 \* \* \*" in "Mars\/Olympus"/,
    );
    expect(() => load({ CDC_TOPIC_PREFIX: 'cdc.v2' })).toThrow(/CDC_TOPIC_PREFIX: expected letters, digits, _ or -/);
  });
});
