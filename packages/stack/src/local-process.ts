import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { sleep } from '@pipeline/runtime';
import type { Component, ComponentStatus, UpResult } from './component';
import type { StackConfig } from './config';
import { assertPortFree } from './net';
import { descendants, isOurProcess, readRecord, removeRecord, stopProcess, tail, writeRecord } from './proc';

/** A port a part of the stack binds, and the variable that moves it. */
export interface PortNeed {
  port: number;
  what: string;
  variable: string;
}

/**
 * One server of the local stack run as a detached process, found again through a record in the
 * stack folder (PID plus a marker in its command line, so a recycled PID is never taken for it).
 * Subclasses say how to check, launch and stop it; the life cycle is here once. A part configured
 * to use an external server (`external` set) is only checked, never started or stopped.
 */
export abstract class LocalProcess implements Component {
  abstract readonly name: string;
  protected readonly recordFile: string;
  protected readonly logFile: string;

  protected constructor(
    protected readonly config: StackConfig,
    file: string,
  ) {
    this.recordFile = join(config.dir, 'run', `${file}.json`);
    this.logFile = join(config.dir, 'logs', `${file}.log`);
  }

  /** Appears in the process's command line (a data folder, a flag). */
  protected abstract readonly marker: string;
  /** What clients connect to, as shown by `status`. */
  protected abstract address(): string;
  /** The variable naming an external server in use instead of ours, when one is. */
  protected abstract external(): string | undefined;
  /** Ports that must be free before launching. */
  protected abstract ports(): PortNeed[];
  /** undefined when the server answers as it should, otherwise the reason. */
  protected abstract check(): Promise<string | undefined>;
  /** Prepares (initdb, storage format…) and spawns the server; returns its PID. */
  protected abstract launch(): Promise<number>;
  /** The signal that makes this server shut down cleanly, and how long that may take. */
  protected abstract readonly stopSignal: NodeJS.Signals;
  protected readonly stopGraceMs: number = 30_000;
  protected readonly readyTimeoutMs: number = 60_000;
  /** Runs once after a fresh start is ready (creating a database, say). */
  protected async afterStart(): Promise<void> {}

  /** Ready when `check()` passes; `since` marks where this start's log begins. */
  protected async isReady(_since: number | undefined): Promise<boolean> {
    return (await this.check()) === undefined;
  }

  async status(): Promise<ComponentStatus> {
    const address = this.address();
    const external = this.external();
    if (external) {
      const problem = await this.check();
      return { name: this.name, state: 'external', address, healthy: !problem, detail: problem ?? external };
    }
    const pid = this.runningPid();
    const port = this.ports()[0]?.port;
    if (pid === undefined) return { name: this.name, state: 'stopped', ...(port ? { port } : {}), address, healthy: false };
    const problem = await this.check();
    return {
      name: this.name,
      state: problem ? 'unhealthy' : 'running',
      pid,
      ...(port ? { port } : {}),
      address,
      healthy: !problem,
      logFile: this.logFile,
      ...(problem ? { detail: problem } : {}),
    };
  }

  async up(): Promise<UpResult> {
    const started = Date.now();
    const current = await this.status();
    const result = async (reused: boolean): Promise<UpResult> => ({ ...(await this.status()), reused, tookMs: Date.now() - started });
    if (current.state === 'external') {
      if (!current.healthy) throw new Error(`${this.external()} names ${current.address}, which is not usable: ${current.detail}`);
      return result(true);
    }
    if (current.state === 'running') return result(true);
    if (current.state === 'unhealthy') {
      // Ours, but not answering yet (still starting, or recovering): give it time.
      await this.waitReady(current.pid as number, undefined);
      return result(true);
    }
    for (const need of this.ports()) await assertPortFree(need.port, need.what, need.variable);
    const since = this.logSize();
    const pid = await this.launch();
    writeRecord(this.recordFile, {
      pid,
      marker: this.marker,
      port: this.ports()[0]?.port ?? 0,
      startedAt: new Date().toISOString(),
      logFile: this.logFile,
    });
    await this.waitReady(pid, since);
    await this.afterStart();
    return result(false);
  }

  async down(): Promise<{ stopped: boolean; pids: number[] }> {
    if (this.external()) return { stopped: false, pids: [] };
    const pid = this.runningPid();
    if (pid === undefined) {
      removeRecord(this.recordFile);
      return { stopped: false, pids: [] };
    }
    const pids = [pid, ...descendants(pid)];
    await stopProcess(pid, this.stopSignal, this.stopGraceMs);
    removeRecord(this.recordFile);
    return { stopped: true, pids };
  }

  private runningPid(): number | undefined {
    const record = readRecord(this.recordFile);
    return record && isOurProcess(record.pid, this.marker) ? record.pid : undefined;
  }

  private logSize(): number {
    return existsSync(this.logFile) ? statSync(this.logFile).size : 0;
  }

  private async waitReady(pid: number, since: number | undefined): Promise<void> {
    const deadline = Date.now() + this.readyTimeoutMs;
    for (;;) {
      if (await this.isReady(since)) return;
      if (!isOurProcess(pid, this.marker)) {
        throw new Error(`${this.name} exited during start-up; its log (${this.logFile}) ends with:\n${tail(this.logFile)}`);
      }
      if (Date.now() > deadline) {
        throw new Error(
          `${this.name} was not ready within ${this.readyTimeoutMs} ms (${(await this.check()) ?? 'still starting'}); ` +
            `its log (${this.logFile}) ends with:\n${tail(this.logFile)}`,
        );
      }
      await sleep(100);
    }
  }
}
