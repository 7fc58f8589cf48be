import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { LogOutput } from './log-output';
import { RestartPolicy, type RestartPolicyOptions } from './restart-policy';

/** A service the supervisor runs: a node entry point, its environment and its HTTP port. */
export interface ServiceSpec {
  name: string;
  entry: string;
  env: Record<string, string | undefined>;
  httpPort: number;
}

export type ServiceState = 'starting' | 'running' | 'restarting' | 'gave-up' | 'stopping' | 'stopped';

export interface ServiceStatus {
  name: string;
  state: ServiceState;
  pid: number | undefined;
  restarts: number;
  httpPort: number;
  /** How it last ended: its exit code, or the signal. */
  lastExit: string | undefined;
}

interface Running {
  spec: ServiceSpec;
  policy: RestartPolicy;
  child: ChildProcess | undefined;
  state: ServiceState;
  restarts: number;
  lastExit: string | undefined;
  timer: NodeJS.Timeout | undefined;
  exited: Promise<void>;
}

export interface SupervisorOptions {
  output: LogOutput;
  restart?: RestartPolicyOptions;
  /** How long services get to stop after SIGTERM before they are killed. Default 20 s. */
  stopDeadlineMs?: number;
  now?: () => number;
}

/**
 * Runs services as child processes and keeps them running: one that exits without being asked is
 * started again after a pause (`RestartPolicy`), one that keeps crashing is left stopped while the
 * others go on. Each child runs in a process group of its own, so a Ctrl-C at the terminal reaches
 * only the supervisor, which stops every service once, gracefully (SIGTERM); `kill()` forces. The
 * children hold an IPC channel to the supervisor: if it dies without stopping them, they stop
 * themselves (the runtime treats the channel closing like SIGTERM).
 */
export class Supervisor {
  private readonly services = new Map<string, Running>();
  private stopping: Promise<boolean> | undefined;

  constructor(private readonly options: SupervisorOptions) {}

  /** Starts a service and keeps it running until `stop()`. */
  start(spec: ServiceSpec): void {
    if (this.stopping) return;
    const running: Running = {
      spec,
      policy: new RestartPolicy(this.options.restart),
      child: undefined,
      state: 'starting',
      restarts: 0,
      lastExit: undefined,
      timer: undefined,
      exited: Promise.resolve(),
    };
    this.services.set(spec.name, running);
    this.spawn(running);
  }

  status(): ServiceStatus[] {
    return [...this.services.values()].map((r) => ({
      name: r.spec.name,
      state: r.state,
      pid: r.child?.pid,
      restarts: r.restarts,
      httpPort: r.spec.httpPort,
      lastExit: r.lastExit,
    }));
  }

  /** The process of a running service (tests and `status` use it). */
  pidOf(name: string): number | undefined {
    const running = this.services.get(name);
    return running?.child && running.child.exitCode === null && running.child.signalCode === null ? running.child.pid : undefined;
  }

  /**
   * Stops every service once: SIGTERM, then SIGKILL for those still running after the deadline.
   * Resolves true when each stopped by itself with exit code 0. Calling it again returns the same.
   */
  stop(): Promise<boolean> {
    this.stopping ??= (async () => {
      for (const running of this.services.values()) {
        if (running.timer) clearTimeout(running.timer);
        running.timer = undefined;
        const child = running.child;
        if (child && child.exitCode === null && child.signalCode === null) {
          running.state = 'stopping';
          child.kill('SIGTERM');
        } else if (running.state !== 'gave-up') running.state = 'stopped';
      }
      const deadline = setTimeout(() => this.kill(), this.options.stopDeadlineMs ?? 20_000);
      await Promise.all([...this.services.values()].map((running) => running.exited));
      clearTimeout(deadline);
      return [...this.services.values()].every((r) => r.state === 'gave-up' || r.lastExit === 'code 0');
    })();
    return this.stopping;
  }

  /** Kills every running service at once (a second Ctrl-C). */
  kill(): void {
    for (const running of this.services.values()) {
      const child = running.child;
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  }

  private spawn(running: Running): void {
    const { spec, restarts } = running;
    const child = spawn(process.execPath, [spec.entry], {
      env: { ...spec.env, HTTP_PORT: String(spec.httpPort) },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      detached: true,
    });
    running.child = child;
    running.state = 'running';
    this.options.output.say('info', `${spec.name} started as pid ${child.pid} (http://127.0.0.1:${spec.httpPort})`, {
      target: spec.name,
      pid: child.pid,
    });
    for (const [stream, name] of [
      [child.stdout, 'stdout'],
      [child.stderr, 'stderr'],
    ] as const) {
      if (stream) createInterface({ input: stream }).on('line', (line) => this.options.output.service(spec.name, line, name));
    }
    running.exited = new Promise<void>((resolve) => {
      child.once('error', (error) => {
        this.options.output.say('error', `${spec.name} could not be started: ${error.message}`);
      });
      child.once('close', (code, signal) => {
        running.lastExit = signal ? `signal ${signal}` : `code ${code}`;
        if (this.stopping) {
          running.state = 'stopped';
          if (code !== 0) this.options.output.say('warn', `${spec.name} ended with ${running.lastExit} while stopping`);
        } else this.crashed(running, code, restarts);
        resolve();
      });
    });
  }

  private crashed(running: Running, code: number | null, restartsBefore: number): void {
    const { spec } = running;
    const verdict = running.policy.crashed(this.now(), code);
    if (verdict.action === 'give-up') {
      running.state = 'gave-up';
      this.options.output.say(
        'error',
        `${spec.name} exited (${running.lastExit}) and is not restarted: ${verdict.reason}. The other services go on; ` +
          'restart `npm start` once it is fixed',
        { target: spec.name, restarts: restartsBefore },
      );
      return;
    }
    running.state = 'restarting';
    running.restarts = restartsBefore + 1;
    this.options.output.say(
      'warn',
      `${spec.name} exited (${running.lastExit}): restarting it in ${(verdict.delayMs / 1000).toFixed(1)} s ` +
        `(restart ${running.restarts}; ${verdict.crashes} crash${verdict.crashes === 1 ? '' : 'es'} in the last minute)`,
      { target: spec.name, exit: running.lastExit, restarts: running.restarts },
    );
    running.timer = setTimeout(() => {
      running.timer = undefined;
      if (!this.stopping) this.spawn(running);
    }, verdict.delayMs);
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }
}
