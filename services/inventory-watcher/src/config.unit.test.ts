import { loadConfig } from './config';

describe('inventory-watcher configuration', () => {
  it('has working defaults for the local stack', () => {
    expect(loadConfig({})).toMatchObject({ HTTP_PORT: 9103, INVENTORY_DAILY_CHECK_AT: '02:00' });
  });

  it('rejects a daily check time that is not HH:MM, naming the variable', () => {
    expect(() => loadConfig({ INVENTORY_DAILY_CHECK_AT: '2am' })).toThrow(
      /INVENTORY_DAILY_CHECK_AT: expected a UTC time of day as HH:MM, for example 02:00 \(got "2am"\)/,
    );
  });

  it('rejects an HTTP port out of range', () => {
    expect(() => loadConfig({ HTTP_PORT: '70000' })).toThrow(/HTTP_PORT: expected a port between 1 and 65535 \(got "70000"\)/);
  });
});
