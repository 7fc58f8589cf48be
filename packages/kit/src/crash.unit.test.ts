import { EventEmitter } from 'node:events';
import { createServer } from 'node:net';
import { Writable } from 'node:stream';
import { onUnrecoverableCrash } from '@pipeline/kafka';
import { main, runtimeEnvSchema, type ServiceContext, UnrecoverableError } from '@pipeline/runtime';
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

/** A service under main() with a stand-in process: what it logged, the exit codes it asked for, and its /readyz. */
async function serviceUnderMain(start: (context: ServiceContext<unknown>) => void) {
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
        start(context);
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
  /** Lets the service's stop finish, and waits for the exit. */
  const stopped = async () => {
    finishStop();
    await exit;
  };
  return { logged, exits, readyz, stopped };
}

describe('a consumer crash kafkajs will not restart from', () => {
  it('is logged, turns /readyz to 503 with the reason, and ends the process with a non-zero exit code', async () => {
    const { consumer, crash } = fakeConsumer();
    const { logged, exits, readyz, stopped } = await serviceUnderMain((context) => {
      onUnrecoverableCrash(consumer, (error, groupId) =>
        context.fatal(error, `consumer group ${groupId} crashed and kafkajs will not restart it: ${error.message}`),
      );
    });
    expect(await readyz()).toEqual({ status: 200, body: { status: 'ready', checks: {} } });

    // A crash kafkajs restarts from by itself changes nothing.
    crash(true);
    expect(await readyz()).toEqual({ status: 200, body: { status: 'ready', checks: {} } });
    expect(exits).toEqual([]);

    crash(false);
    // While the service stops, orchestrators already see why it is not ready.
    const reason = 'consumer group svc crashed and kafkajs will not restart it: The group is rebalancing, so a rejoin is needed';
    expect(await readyz()).toEqual({ status: 503, body: { status: 'failed', reason } });
    await stopped();
    expect(exits).toEqual([1]);
    const line = logged.find((entry) => entry.level === 'error');
    expect(line?.msg).toBe(`${reason}; exiting with code 1 so that whatever supervises the service restarts it`);
    expect(line?.err?.message).toBe('The group is rebalancing, so a rejoin is needed');
    expect(logged.map((entry) => entry.msg)).toContain('stopped; exiting with code 1');
  });
});

describe('a fatal condition restarting cannot fix', () => {
  it('ends the process with exit code 78, saying so, so a supervisor gives up on it', async () => {
    const refused = new UnrecoverableError('Kafka refused the copy …: fix the topic', { code: 'KAFKA_REFUSED' });
    let fatal: (() => void) | undefined;
    const { logged, exits, readyz, stopped } = await serviceUnderMain((context) => {
      fatal = () => context.fatal(refused, refused.message);
    });
    fatal?.();
    expect(await readyz()).toEqual({ status: 503, body: { status: 'failed', reason: refused.message } });
    await stopped();
    expect(exits).toEqual([78]);
    expect(logged.find((entry) => entry.level === 'fatal')?.msg).toBe(
      `${refused.message}; exiting with code 78: restarting cannot fix this, so a supervisor should not`,
    );
    expect(logged.map((entry) => entry.msg)).toContain('stopped; exiting with code 78');
  });
});
