import { EventEmitter } from 'node:events';
import type { Consumer } from 'kafkajs';
import { isPassingCrash, superviseCrashes } from './crash';

/** kafkajs's error shapes, by name (its classes are not exported one by one). */
const named = (name: string, message: string, cause?: Error): Error => Object.assign(new Error(message), { name, cause });
const coordinatorNotFound = () => named('KafkaJSGroupCoordinatorNotFound', 'Failed to find group coordinator');
const rebalancing = () => named('KafkaJSProtocolError', 'The group is rebalancing, so a rejoin is needed');

/** A stand-in for a kafkajs consumer: the test emits its instrumentation events. */
function fakeConsumer() {
  const emitter = new EventEmitter();
  const consumer = {
    events: { CRASH: 'consumer.crash', GROUP_JOIN: 'consumer.group_join' },
    on: (event: string, listener: (event: unknown) => void) => {
      emitter.on(event, listener);
      return () => emitter.off(event, listener);
    },
  } as unknown as Pick<Consumer, 'on' | 'events'>;
  return {
    consumer,
    crash: (error: Error, restart = false) => emitter.emit('consumer.crash', { payload: { error, groupId: 'svc', restart } }),
    joined: () => emitter.emit('consumer.group_join', { payload: {} }),
  };
}

const tick = (ms = 30) => new Promise((resolve) => setTimeout(resolve, ms));

describe('which crashes pass', () => {
  it('the coordinator not found and brokers away pass; a protocol error does not', () => {
    expect(isPassingCrash(coordinatorNotFound())).toBe(true);
    expect(isPassingCrash(named('KafkaJSNonRetriableError', 'wrapped', coordinatorNotFound()))).toBe(true);
    expect(
      isPassingCrash(named('KafkaJSNumberOfRetriesExceeded', 'gave up', named('KafkaJSConnectionError', 'connect ECONNREFUSED'))),
    ).toBe(true);
    expect(isPassingCrash(rebalancing())).toBe(false);
    expect(isPassingCrash(new Error('something else'))).toBe(false);
  });
});

describe('a consumer crash kafkajs will not restart from', () => {
  it('when it passes (coordinator not found after a broker restart): the consumer is started again, the service goes on', async () => {
    const { consumer, crash } = fakeConsumer();
    const gone: string[] = [];
    const passing: number[] = [];
    let restarts = 0;
    superviseCrashes(consumer, {
      restart: async () => {
        restarts++;
        // The first start again still finds no coordinator; the second one works.
        if (restarts === 1) throw coordinatorNotFound();
      },
      onGone: (error) => gone.push(error.message),
      onPassing: (_error, _group, delayMs) => passing.push(delayMs),
      stopping: () => false,
      delayMs: (attempt) => attempt,
    });
    crash(coordinatorNotFound());
    await tick();
    expect(gone).toEqual([]);
    expect(restarts).toBe(2);
    expect(passing).toEqual([1, 2]);
  });

  it('when it does not pass: the owner is told, nothing is restarted', async () => {
    const { consumer, crash } = fakeConsumer();
    const gone: string[] = [];
    let restarts = 0;
    superviseCrashes(consumer, {
      restart: async () => {
        restarts++;
      },
      onGone: (error, groupId) => gone.push(`${groupId}: ${error.message}`),
      stopping: () => false,
      delayMs: () => 1,
    });
    crash(rebalancing(), true);
    crash(rebalancing());
    await tick();
    expect(gone).toEqual(['svc: The group is rebalancing, so a rejoin is needed']);
    expect(restarts).toBe(0);
  });

  it('while the owner stops: nothing at all', async () => {
    const { consumer, crash } = fakeConsumer();
    const gone: string[] = [];
    let restarts = 0;
    superviseCrashes(consumer, {
      restart: async () => {
        restarts++;
      },
      onGone: (error) => gone.push(error.message),
      stopping: () => true,
      delayMs: () => 1,
    });
    crash(coordinatorNotFound());
    crash(rebalancing());
    await tick();
    expect([gone, restarts]).toEqual([[], 0]);
  });

  it('the pause doubles with each crash in a row, and starts over once the group is joined again', async () => {
    const { consumer, crash, joined } = fakeConsumer();
    const passing: number[] = [];
    superviseCrashes(consumer, {
      restart: async () => undefined,
      onGone: () => undefined,
      onPassing: (_error, _group, delayMs) => passing.push(delayMs),
      stopping: () => false,
      delayMs: (attempt) => 2 ** (attempt - 1),
    });
    crash(coordinatorNotFound());
    crash(coordinatorNotFound());
    joined();
    crash(coordinatorNotFound());
    await tick();
    expect(passing).toEqual([1, 2, 1]);
  });
});
