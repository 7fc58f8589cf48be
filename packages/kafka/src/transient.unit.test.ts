import { withTransientRetries } from './transient';

const retriable = Object.assign(new Error('This server does not host this topic-partition'), { retriable: true });
const fatal = Object.assign(new Error('Topic authorization failed'), { retriable: false });

describe('withTransientRetries', () => {
  it('tries again after an error kafkajs calls retriable, and says so', async () => {
    let calls = 0;
    const retries: number[] = [];
    const result = await withTransientRetries(
      async () => {
        calls++;
        if (calls < 3) throw retriable;
        return 'subscribed';
      },
      { delayMs: 1, onRetry: (_, attempt) => retries.push(attempt) },
    );
    expect(result).toBe('subscribed');
    expect(retries).toEqual([1, 2]);
  });

  it('gives up at once on any other error, and after the last attempt on a retriable one', async () => {
    let calls = 0;
    await expect(
      withTransientRetries(async () => {
        calls++;
        throw fatal;
      }),
    ).rejects.toBe(fatal);
    expect(calls).toBe(1);
    calls = 0;
    await expect(
      withTransientRetries(
        async () => {
          calls++;
          throw retriable;
        },
        { attempts: 3, delayMs: 1 },
      ),
    ).rejects.toBe(retriable);
    expect(calls).toBe(3);
  });
});
