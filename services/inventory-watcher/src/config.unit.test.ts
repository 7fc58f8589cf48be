import { loadConfig } from './config';

describe('inventory-watcher configuration', () => {
  it('has working defaults for the local stack', () => {
    expect(loadConfig({})).toMatchObject({ HTTP_PORT: 9103, INVENTORY_DAILY_CHECK_CRON: '0 8 * * *', INVENTORY_DAILY_CHECK_TZ: 'UTC' });
  });

  it('reads the daily check’s schedule in its time zone', () => {
    expect(loadConfig({ INVENTORY_DAILY_CHECK_CRON: '30 6 * * 1-5', INVENTORY_DAILY_CHECK_TZ: 'Europe/Warsaw' })).toMatchObject({
      INVENTORY_DAILY_CHECK_CRON: '30 6 * * 1-5',
      INVENTORY_DAILY_CHECK_TZ: 'Europe/Warsaw',
    });
  });

  it('rejects a schedule or time zone it cannot read, naming the variable', () => {
    expect(() => loadConfig({ INVENTORY_DAILY_CHECK_CRON: '0 8 * *' })).toThrow(/INVENTORY_DAILY_CHECK_CRON: .*4 fields, not 5/);
    expect(() => loadConfig({ INVENTORY_DAILY_CHECK_TZ: 'Mars/Olympus' })).toThrow(/INVENTORY_DAILY_CHECK_CRON: .*Mars\/Olympus/);
  });

  it('refuses the replaced INVENTORY_DAILY_CHECK_AT, saying what to set instead', () => {
    expect(() => loadConfig({ INVENTORY_DAILY_CHECK_AT: '02:00' })).toThrow(
      /INVENTORY_DAILY_CHECK_AT: no longer read: set INVENTORY_DAILY_CHECK_CRON \(five cron fields, here "0 2 \* \* \*"\) and INVENTORY_DAILY_CHECK_TZ \(default UTC\) instead, and unset INVENTORY_DAILY_CHECK_AT \(got "02:00"\)/,
    );
  });

  it('rejects an HTTP port out of range', () => {
    expect(() => loadConfig({ HTTP_PORT: '70000' })).toThrow(/HTTP_PORT: expected a port between 1 and 65535 \(got "70000"\)/);
  });

  it('refuses a handler deadline at or above the session timeout, and a shutdown grace at or above the shutdown deadline', () => {
    expect(() => loadConfig({ HANDLER_TIMEOUT_MS: '30000' })).toThrow(
      /HANDLER_TIMEOUT_MS: must be below CONSUMER_SESSION_TIMEOUT_MS \(30000\), or the group takes partitions away/,
    );
    expect(() => loadConfig({ SHUTDOWN_GRACE_MS: '20000', SHUTDOWN_TIMEOUT_MS: '15000' })).toThrow(
      /SHUTDOWN_GRACE_MS: must be below SHUTDOWN_TIMEOUT_MS \(15000\), leaving time to commit offsets and leave the group/,
    );
    expect(loadConfig({ HANDLER_TIMEOUT_MS: '2000', CONSUMER_SESSION_TIMEOUT_MS: '6000' })).toMatchObject({ HANDLER_TIMEOUT_MS: 2000 });
  });
});
