import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { sleep } from '@pipeline/runtime';
import { inheritedEnv } from './config';

/** What the stack remembers about a process it started. */
export interface ProcessRecord {
  pid: number;
  /** A string that must appear in /proc/<pid>/cmdline, so a recycled PID is never mistaken for ours. */
  marker: string;
  port: number;
  startedAt: string;
  logFile: string;
}

export function readRecord(file: string): ProcessRecord | undefined {
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as ProcessRecord;
  } catch {
    return undefined;
  }
}

export function writeRecord(file: string, record: ProcessRecord): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
}

export function removeRecord(file: string): void {
  rmSync(file, { force: true });
}

/** True when `pid` runs and its command line contains `marker`. */
export function isOurProcess(pid: number, marker: string): boolean {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    return cmdline.includes(marker) && !isZombie(pid);
  } catch {
    return false;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !isZombie(pid);
  } catch {
    return false;
  }
}

function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 3, after the parenthesised command name (which may itself contain spaces).
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

/** Every live descendant of `pid` (PostgreSQL's backends, the JVM's helpers), from /proc. */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      // The process ended while we looked.
    }
  }
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const next = queue.shift() as number;
    for (const child of children.get(next) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

export interface SpawnOptions {
  command: string;
  args: string[];
  logFile: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  uid?: number;
  gid?: number;
}

/** Starts a process that outlives this one (its own session, output appended to `logFile`). */
export function spawnDetached(options: SpawnOptions): number {
  mkdirSync(dirname(options.logFile), { recursive: true });
  const fd = openSync(options.logFile, 'a');
  try {
    const child = spawn(options.command, options.args, {
      cwd: options.cwd,
      env: options.env ?? inheritedEnv(),
      detached: true,
      stdio: ['ignore', fd, fd],
      ...(options.uid === undefined ? {} : { uid: options.uid }),
      ...(options.gid === undefined ? {} : { gid: options.gid }),
    });
    child.unref();
    if (child.pid === undefined) throw new Error(`could not start ${options.command}`);
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

/**
 * Sends `signal`, waits up to `graceMs` for the process (and its descendants) to end, then kills
 * whatever is left with SIGKILL. Resolves when nothing of it runs.
 */
export async function stopProcess(pid: number, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  const family = [pid, ...descendants(pid)];
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && family.some(isAlive)) await sleep(50);
  for (const member of family.filter(isAlive)) {
    try {
      process.kill(member, 'SIGKILL');
    } catch {
      // Gone meanwhile.
    }
  }
  const killDeadline = Date.now() + 5_000;
  while (Date.now() < killDeadline && family.some(isAlive)) await sleep(50);
}

/** Runs a command and returns its output, or undefined when it cannot run at all. */
export function tryRun(command: string, args: string[]): { status: number | null; stdout: string; stderr: string } | undefined {
  const result = spawnSync(command, args, { encoding: 'utf8', env: inheritedEnv() });
  if (result.error) return undefined;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The last `lines` lines of a log file, to show with a start-up failure. */
export function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
