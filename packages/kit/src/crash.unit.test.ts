import { EventEmitter } from 'node:events';
import { createServer } from 'node:net';
import { Writable } from 'node:stream';
import { onUnrecoverableCrash } from '@pipeline/kafka';
import { main, runtimeEnvSchema } from '@pipeline/runtime';
import type { Consumer } from 'kafkajs';

/** A stand-in for a kafkajs consumer: the test emits its instrumentation events. */
function fakeConsumer() {
  const emitter = new EventEmitter();
  const consumer = {
    events: { CRASH: 'consumer.crash' },
    on: (event: string, listener: (event: unknown) => void) => {
      emitter.on(event, listener);
      return () => emitter.off(event, listener);
    },
  } as unknown as Pick<Consumer, 'on' | 'events'>;
  return {
    consumer,
    crash: (restart: boolean) =>
      emitter.emit('consumer.crash', {
        payload: { error: new Error('The group is rebalancing, so a rejoin is needed'), groupId: 'svc', restart },
      }),
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe('a consumer crash kafkajs will not restart from', () => {
  it('is logged, turns /readyz to 503 with the reason, and ends the process with a non-zero exit code', async () => {
    const { consumer, crash } = fakeConsumer();
    const logged: { level: string; msg: string; err?: { message: string } }[] = [];
    const exits: number[] = [];
    let exited: () => void = () => undefined;
    const exit = new Promise<void>((resolve) => {
      exited = resolve;
    });
    let finishStop: () => void = () => undefined;
    const port = await freePort();
    await main(
      {
        name: 'crash-test',
        configSchema: runtimeEnvSchema({ httpPort: port }),
        start: async (context) => {
          onUnrecoverableCrash(consumer, (error, groupId) =>
            context.fatal(error, `consumer group ${groupId} crashed and kafkajs will not restart it: ${error.message}`),
          );
          return { stop: () => new Promise<void>((resolve) => (finishStop = resolve)) };
        },
      },
      { HTTP_PORT: String(port), LOG_LEVEL: 'info' },
      {
        argv: [],
        proc: {
          on: () => process,
          exit: (code?: number) => {
            exits.push(code ?? 0);
            exited();
          },
        } as unknown as Pick<NodeJS.Process, 'on' | 'exit'>,
        logDestination: new Writable({
          write(chunk, _encoding, callback) {
            for (const line of String(chunk).split('\n').filter(Boolean)) logged.push(JSON.parse(line));
            callback();
          },
        }),
      },
    );
    const readyz = async () => {
      const response = await fetch(`http://127.0.0.1:${port}/readyz`);
      return { status: response.status, body: (await response.json()) as unknown };
    };
    expect(await readyz()).toEqual({ status: 200, body: { status: 'ready', checks: {} } });

    // A crash kafkajs restarts from by itself changes nothing.
    crash(true);
    expect(await readyz()).toEqual({ status: 200, body: { status: 'ready', checks: {} } });
    expect(exits).toEqual([]);

    crash(false);
    // While the service stops, orchestrators already see why it is not ready.
    const reason = 'consumer group svc crashed and kafkajs will not restart it: The group is rebalancing, so a rejoin is needed';
    expect(await readyz()).toEqual({ status: 503, body: { status: 'failed', reason } });
    finishStop();
    await exit;
    expect(exits).toEqual([1]);
    const line = logged.find((entry) => entry.level === 'error');
    expect(line?.msg).toBe(`${reason}; exiting with code 1 so that whatever supervises the service restarts it`);
    expect(line?.err?.message).toBe('The group is rebalancing, so a rejoin is needed');
    expect(logged.map((entry) => entry.msg)).toContain('stopped; exiting with code 1');
  });
});
