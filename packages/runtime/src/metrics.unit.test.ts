import { scrapeCache } from './metrics';

describe('scrapeCache', () => {
  it('shares one read between concurrent scrapes and keeps it for refreshMs', async () => {
    let reads = 0;
    const get = scrapeCache(
      async () => ++reads,
      60_000,
      () => undefined,
    );
    expect(await Promise.all([get(), get()])).toEqual([1, 1]);
    expect(await get()).toBe(1);
    expect(reads).toBe(1);
  });

  it('keeps the last value when a read fails, and says why', async () => {
    let fail = false;
    let reads = 0;
    const errors: unknown[] = [];
    const get = scrapeCache(
      async () => {
        if (fail) throw new Error('database away');
        return ++reads;
      },
      0,
      (error) => errors.push(error),
    );
    expect(await get()).toBe(1);
    fail = true;
    expect(await get()).toBe(1);
    expect(errors).toEqual([new Error('database away')]);
    fail = false;
    expect(await get()).toBe(2);
  });
});
