import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

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

/** Runs node with `args` (for example a service's dist/main.js) and exactly `env`; stdout is collected line by line. */
export function spawnNode(args: string[], env: Record<string, string>): TestChild {
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
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
