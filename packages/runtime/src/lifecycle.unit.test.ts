import { EventEmitter } from 'node:events';
import { ConfigError, UnrecoverableError } from './errors';
import { EXIT_CODES, runService } from './lifecycle';
import { makeLogger } from './logger';

/** A stand-in for `process`: signals are emitted by the test, exit codes recorded. */
function fakeProcess() {
  const emitter = new EventEmitter();
  const exits: number[] = [];
  let onExit: () => void = () => undefined;
  const exited = new Promise<void>((resolve) => {
    onExit = resolve;
  });
  return {
    proc: {
      on: (event: string, listener: (...args: unknown[]) => void) => emitter.on(event, listener),
      exit: (code?: number) => {
        exits.push(code ?? 0);
        onExit();
      },
    } as unknown as Pick<NodeJS.Process, 'on' | 'exit'>,
    signal: (name: NodeJS.Signals) => emitter.emit(name, name),
    exits,
    exited,
  };
}

const logger = makeLogger({ service: 'test', level: 'silent' });

describe('runService', () => {
  it('stops the service on SIGTERM and exits 0', async () => {
    const fake = fakeProcess();
    const stop = jest.fn(async () => undefined);
    await runService({ service: 's', proc: fake.proc, start: async () => ({ running: { stop }, logger, shutdownTimeoutMs: 1_000 }) });
    fake.signal('SIGTERM');
    await fake.exited;
    expect(stop).toHaveBeenCalledTimes(1);
    expect(fake.exits).toEqual([EXIT_CODES.ok]);
  });

  it.each([
    ['a configuration error', new ConfigError('Invalid configuration for s:\n  - HTTP_PORT: expected a TCP port number', [])],
    [
      'a condition restarting cannot fix',
      new UnrecoverableError('the topic refuses every record: fix its settings', { code: 'KAFKA_REFUSED' }),
    ],
  ])('exits 78 with its message on %s, before anything starts', async (_what, error) => {
    const fake = fakeProcess();
    const written: string[] = [];
    await runService({
      service: 's',
      proc: fake.proc,
      writeError: (text) => written.push(text),
      start: async () => {
        throw error;
      },
    });
    expect(fake.exits).toEqual([EXIT_CODES.config]);
    expect(written.join('')).toBe(error.message);
  });

  it('exits 1 when stopping fails, and at once on a second signal', async () => {
    const failing = fakeProcess();
    await runService({
      service: 's',
      proc: failing.proc,
      start: async () => ({ running: { stop: async () => Promise.reject(new Error('commit failed')) }, logger, shutdownTimeoutMs: 1_000 }),
    });
    failing.signal('SIGTERM');
    await failing.exited;
    expect(failing.exits).toEqual([EXIT_CODES.failed]);

    const hanging = fakeProcess();
    await runService({
      service: 's',
      proc: hanging.proc,
      start: async () => ({ running: { stop: () => new Promise<void>(() => undefined) }, logger, shutdownTimeoutMs: 60_000 }),
    });
    hanging.signal('SIGTERM');
    hanging.signal('SIGINT');
    await hanging.exited;
    expect(hanging.exits).toEqual([EXIT_CODES.failed]);
  });

  it('a fatal error stops the service and exits with the code it asks for: 1 to be restarted, 78 when restarting cannot help', async () => {
    for (const code of [undefined, EXIT_CODES.config]) {
      const fake = fakeProcess();
      const stop = jest.fn(async () => undefined);
      await runService({
        service: 's',
        proc: fake.proc,
        start: async (fatal) => {
          setImmediate(() => fatal(code));
          return { running: { stop }, logger, shutdownTimeoutMs: 1_000 };
        },
      });
      await fake.exited;
      expect(stop).toHaveBeenCalledTimes(1);
      expect(fake.exits).toEqual([code ?? EXIT_CODES.failed]);
    }
  });
});
