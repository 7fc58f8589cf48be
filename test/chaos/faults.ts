import type { Pool } from '@pipeline/db';
import { isAlive, makeStack, type StackConfig } from '@pipeline/stack';
import type { SesFaultProxy } from '@pipeline/testing';
import type { ChaosReceiver, FlapMode } from './receiver';
import type { Fault } from './schedule';

/** A fault as it was carried out: when, what, against whom, and what came of it. */
export interface FaultRecord {
  /** Seconds since the run's start. */
  atS: number;
  kind: Fault['kind'];
  target: string;
  detail: string;
}

export interface FaultTargets {
  config: StackConfig;
  /** The harness's connections to the private database (walsender termination). */
  pool: Pool;
  proxy: SesFaultProxy;
  receivers: readonly ChaosReceiver[];
  /** The supervised process of a service now, if it runs. */
  pidOf(service: string): number | undefined;
  /** The reader's replication slot. */
  slot: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Carries out a schedule's faults against the private stack and the supervised services, and keeps
 * the log of what it did (printed as it happens, saved with the result). Faults with a duration
 * run in the background, so a kill can land while the broker is down; server restarts never overlap
 * (the schedule spaces them).
 */
export class FaultRunner {
  readonly log: FaultRecord[] = [];
  /** Services this runner SIGKILLed: the only exits the run expects. */
  readonly killed: { service: string; pid: number }[] = [];
  /** Faults carried out (not skipped because their target was down), by kind. */
  readonly carriedOut = new Map<Fault['kind'], number>();
  private readonly counted = new Set<Fault>();
  private readonly pending = new Set<Promise<void>>();
  /** Server restarts one after the other: a broker is never stopped while it is still starting. */
  private servers: Promise<void> = Promise.resolve();

  constructor(
    private readonly targets: FaultTargets,
    private readonly startedAt: number,
    private readonly say: (line: string) => void,
  ) {}

  /** Starts `fault` now; resolves when it has begun (its recovery may go on in the background). */
  async run(fault: Fault): Promise<void> {
    const isServer = fault.kind === 'broker-restart' || fault.kind.startsWith('postgres-restart');
    const carry = () => this.carryOut(fault).catch((error: Error) => this.record(fault, `failed to carry out: ${error.message}`));
    const work = isServer ? this.servers.then(carry) : carry();
    if (isServer) this.servers = work;
    this.pending.add(work);
    void work.finally(() => this.pending.delete(work));
    // Instant faults are awaited, so the log stays in order; lasting ones go on while the next is started.
    if (fault.durationMs === 0) await work;
  }

  /** Waits until every fault is over and every server is back. */
  async settle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  private record(fault: Fault, detail: string): void {
    if (!this.counted.has(fault) && !/skipped|failed to carry out|nothing cut off/.test(detail)) {
      this.counted.add(fault);
      this.carriedOut.set(fault.kind, (this.carriedOut.get(fault.kind) ?? 0) + 1);
    }
    const entry = { atS: Math.round((Date.now() - this.startedAt) / 100) / 10, kind: fault.kind, target: fault.target, detail };
    this.log.push(entry);
    this.say(`${entry.atS.toFixed(1).padStart(6)} s  ${entry.kind} ${entry.target}: ${detail}`);
  }

  private kill(service: string): number | undefined {
    const pid = this.targets.pidOf(service);
    if (pid === undefined) return undefined;
    try {
      process.kill(pid, 'SIGKILL');
      this.killed.push({ service, pid });
      return pid;
    } catch {
      return undefined;
    }
  }

  private async carryOut(fault: Fault): Promise<void> {
    const { config, pool, receivers } = this.targets;
    switch (fault.kind) {
      case 'kill': {
        const pid = this.kill(fault.target);
        this.record(fault, pid === undefined ? 'not running (restarting): skipped' : `SIGKILL pid ${pid}`);
        return;
      }
      case 'pause': {
        const pid = this.targets.pidOf(fault.target);
        if (pid === undefined) return this.record(fault, 'not running (restarting): skipped');
        process.kill(pid, 'SIGSTOP');
        this.record(fault, `SIGSTOP pid ${pid} for ${(fault.durationMs / 1000).toFixed(1)} s`);
        await sleep(fault.durationMs);
        try {
          process.kill(pid, 'SIGCONT');
        } catch {
          // Killed meanwhile by another fault: the supervisor has started it again.
        }
        return;
      }
      case 'broker-restart': {
        const kafka = makeStack(config, ['kafka']);
        this.record(fault, `stopping the broker for ${(fault.durationMs / 1000).toFixed(1)} s`);
        await kafka.down();
        await sleep(fault.durationMs);
        const started = Date.now();
        await kafka.up();
        this.say(`          broker back after ${((Date.now() - started) / 1000).toFixed(1)} s of start-up`);
        return;
      }
      case 'postgres-restart-fast': {
        const postgres = makeStack(config, ['postgres']);
        this.record(fault, 'fast shutdown (SIGINT), then start');
        await postgres.down();
        await postgres.up();
        return;
      }
      case 'postgres-restart-immediate': {
        const postgres = makeStack(config, ['postgres']);
        const [status] = await postgres.status();
        const pid = status?.pid;
        if (pid === undefined) return this.record(fault, 'not running: skipped');
        this.record(fault, `immediate shutdown (SIGQUIT pid ${pid}): crash recovery at start`);
        process.kill(pid, 'SIGQUIT');
        while (isAlive(pid)) await sleep(50);
        await postgres.up();
        return;
      }
      case 'walsender-terminate': {
        const { rows } = await pool.query<{ pid: number | null; ended: boolean | null }>(
          'SELECT active_pid AS pid, pg_terminate_backend(active_pid) AS ended FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL',
          [this.targets.slot],
        );
        const pid = rows[0]?.pid;
        this.record(fault, pid ? `pg_terminate_backend(${pid})` : 'no walsender streaming now: skipped');
        return;
      }
      case 'ses':
        return this.ses(fault);
      case 'webhook-flap': {
        for (const receiver of receivers) receiver.flap(fault.target as FlapMode);
        this.record(fault, `both receivers for ${(fault.durationMs / 1000).toFixed(1)} s`);
        await sleep(fault.durationMs);
        for (const receiver of receivers) receiver.recover();
        return;
      }
    }
  }

  private async ses(fault: Fault): Promise<void> {
    const { proxy } = this.targets;
    switch (fault.target) {
      case 'throttle-burst': {
        const count = Math.max(3, Math.round(fault.durationMs / 1_000));
        proxy.failNext('Throttling', count);
        this.record(fault, `the next ${count} sends throttled`);
        return;
      }
      case 'server-errors': {
        const count = Math.max(2, Math.round(fault.durationMs / 2_000));
        proxy.failNext('ServiceUnavailable', count);
        this.record(fault, `the next ${count} sends answered 503`);
        return;
      }
      default: {
        // The next send reaches SES, its answer is held, and the order-processor dies before hearing it.
        this.record(fault, 'holding the next send’s answer, then SIGKILL of the order-processor');
        const held = proxy.holdNextAnswer();
        const sent = await Promise.race([held.then(() => true), sleep(Math.max(fault.durationMs, 20_000)).then(() => false)]);
        if (!sent) {
          proxy.stopHolding();
          this.record(fault, 'no send came while holding: nothing cut off');
          return;
        }
        const pid = this.kill('order-processor');
        this.record(
          fault,
          pid === undefined ? 'SES accepted a send; the order-processor was not running' : `SES accepted a send; SIGKILL pid ${pid}`,
        );
        await sleep(500);
        proxy.release();
      }
    }
  }
}
