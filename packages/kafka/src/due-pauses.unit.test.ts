import { DuePauses } from './due-pauses';

/** A gauge that counts. */
const gauge = () => {
  const counted = { value: 0, inc: () => counted.value++, dec: () => counted.value--, set: (v: number) => (counted.value = v) };
  return counted;
};

const tick = (ms = 20) => new Promise((resolve) => setTimeout(resolve, ms));

describe('retry partitions paused until due', () => {
  it('is resumed when due', async () => {
    const calls: string[] = [];
    const paused = gauge();
    const pauses = new DuePauses(
      {
        pause: (t) => calls.push(`pause ${t[0]?.topic}/${t[0]?.partitions}`),
        resume: (t) => calls.push(`resume ${t[0]?.topic}/${t[0]?.partitions}`),
      },
      paused,
    );
    pauses.pauseFor('svc.retry.1', 2, 5);
    expect([calls, paused.value]).toEqual([['pause svc.retry.1/2'], 1]);
    await tick();
    expect([calls, paused.value]).toEqual([['pause svc.retry.1/2', 'resume svc.retry.1/2'], 0]);
  });

  it('a resume due while the consumer is not running (it crashed, kafkajs starts it again) is dropped, not thrown', async () => {
    const paused = gauge();
    const pauses = new DuePauses(
      {
        pause: () => undefined,
        resume: () => {
          throw new Error('Consumer group was not initialized, consumer#run must be called first');
        },
      },
      paused,
    );
    const thrown: unknown[] = [];
    const listener = (error: unknown) => thrown.push(error);
    process.on('uncaughtException', listener);
    try {
      pauses.pauseFor('svc.retry.1', 0, 1);
      await tick();
    } finally {
      process.off('uncaughtException', listener);
    }
    expect([thrown, paused.value]).toEqual([[], 0]);
  });

  it('clear() forgets every pending resume', async () => {
    const calls: string[] = [];
    const paused = gauge();
    const pauses = new DuePauses({ pause: () => calls.push('pause'), resume: () => calls.push('resume') }, paused);
    pauses.pauseFor('t', 0, 5);
    pauses.pauseFor('t', 1, 5);
    pauses.clear();
    await tick();
    expect([calls, paused.value]).toEqual([['pause', 'pause'], 0]);
  });
});
