import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { inheritedEnv, testLogLevel } from './env';
import { eventually } from './kafka';
import { freePort } from './private-stack';
import { sharedStack } from './shared-stack';

/** A test's child process: its stdout lines, how it ended, and waits on both. */
export interface TestChild {
  process: ChildProcess;
  lines: string[];
  /** Resolves with the first stdout line (seen so far or later) that matches. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves when it has exited: its code, or the signal that ended it. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Runs a TypeScript file through tsx (test children are not compiled); stderr goes to the test's. */
export function spawnTs(file: string, env: Record<string, string>): TestChild {
  return spawnNode(['--require', 'tsx/cjs', file], { ...process.env, ...env } as Record<string, string>);
}

/**
 * Runs node with `args` (for example a service's dist/main.js) and exactly `env`; stdout is
 * collected line by line. `ipc`: a channel to the child, which a service (the runtime's main)
 * watches as it watches `pipeline start`: if this test process dies, the service stops by itself
 * instead of living on, orphaned, holding the test runner's stderr open (CI saw jest wait on two
 * such services for an hour).
 */
export function spawnNode(args: string[], env: Record<string, string>, cwd?: string, options: { ipc?: boolean } = {}): TestChild {
  const child = spawn(process.execPath, args, {
    env,
    stdio: options.ipc ? ['ignore', 'pipe', 'inherit', 'ipc'] : ['ignore', 'pipe', 'inherit'],
    ...(cwd ? { cwd } : {}),
  });
  // The channel must not keep this test process alive either.
  child.channel?.unref();
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    lines.push(line);
    for (const wake of waiters) wake();
  });
  const exited = once(child, 'exit').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));
  const waitForLine = (pattern: RegExp, timeoutMs = 60_000): Promise<string> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const found = lines.find((line) => pattern.test(line));
        if (found === undefined) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve(found);
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms; last lines:\n${lines.slice(-10).join('\n')}`));
      }, timeoutMs);
      waiters.add(check);
      void exited.then(({ code, signal }) => {
        if (!waiters.has(check)) return;
        waiters.delete(check);
        clearTimeout(timer);
        reject(new Error(`exited (${code ?? signal}) before a line matching ${pattern}; last lines:\n${lines.slice(-10).join('\n')}`));
      });
      check();
    });
  return { process: child, lines, waitForLine, exited };
}

/**
 * Starts a compiled consumer service (`services/<name>/dist/main.js`) for an end-to-end test: the
 * shared broker, quick-rejoin timeouts (a SIGKILLed member's partitions move on after 6 s), short
 * retry delays, a free port; resolves once /readyz answers 200. `env` adds or overrides.
 */
export async function startServiceChild(entry: string, env: Record<string, string>, cwd?: string): Promise<TestChild & { port: number }> {
  const port = await freePort();
  const child = spawnNode(
    [entry],
    {
      PATH: inheritedEnv().PATH ?? '',
      KAFKA_BROKERS: sharedStack().endpoints.kafkaBrokers.join(','),
      RETRY_DELAYS_MS: '1000,1000,1000',
      CONSUMER_SESSION_TIMEOUT_MS: '6000',
      HANDLER_TIMEOUT_MS: '5000',
      SHUTDOWN_GRACE_MS: '1500',
      SHUTDOWN_TIMEOUT_MS: '8000',
      LOG_LEVEL: testLogLevel('warn'),
      ...env,
      HTTP_PORT: String(port),
    },
    cwd,
    { ipc: true },
  );
  // One that never became ready is not left running behind the test.
  await waitUntilReady(child, port, entry).catch((error: unknown) => {
    if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL');
    throw error;
  });
  return { ...child, port };
}

/**
 * Resolves once the child's /readyz on `port` answers 200 (for a consumer: it has joined its
 * groups); fails early, with its last lines, if it exits first.
 */
export async function waitUntilReady(child: TestChild, port: number, name: string, timeoutMs = 60_000): Promise<void> {
  const lastLines = () => child.lines.slice(-20).join('\n');
  await eventually(
    `${name} ready on ${port}`,
    async () => {
      if (child.process.exitCode !== null) throw new Error(`${name} exited with ${child.process.exitCode}:\n${lastLines()}`);
      try {
        return (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200 ? true : undefined;
      } catch {
        return undefined;
      }
    },
    timeoutMs,
  ).catch((error: Error) => {
    throw new Error(`${error.message}; its last lines:\n${lastLines()}`);
  });
}
