import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inheritedEnv, testLogLevel } from '@pipeline/testing';

/** The compiled reader (npm run build). */
export const READER_ENTRY = join(__dirname, '..', '..', 'dist', 'main.js');

/** Starts the reader as a process and resolves once /readyz says it streams. */
export async function startReaderProcess(env: Record<string, string>, port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [READER_ENTRY], {
    env: { PATH: inheritedEnv().PATH ?? '', ...env, HTTP_PORT: String(port) },
    stdio: ['ignore', testLogLevel() ? 'inherit' : 'ignore', 'inherit'],
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200) return child;
    } catch {
      // Not listening yet.
    }
    if (child.exitCode !== null) throw new Error(`the reader exited with ${child.exitCode}`);
    if (Date.now() > deadline) throw new Error('the reader did not become ready');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Resident set size of a process, in bytes (Linux /proc). */
export function rssBytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match?.[1] ? Number(match[1]) * 1024 : 0;
}

/** Samples a process's RSS every `everyMs` until stopped; returns the peak. */
export function sampleRss(pid: number, everyMs = 50): { stop: () => number } {
  let peak = 0;
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, rssBytes(pid));
    } catch {
      // The process ended.
    }
  }, everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      return peak;
    },
  };
}
