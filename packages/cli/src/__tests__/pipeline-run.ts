import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { findRepoRoot, makeStack, privateStackConfig, type StackConfig } from '@pipeline/stack';
import { freePortRange, inheritedEnv } from '@pipeline/testing';
import { SERVICES, STANDBY_READER } from '../services';

/** One JSON log line of `pipeline start`: a service's own, or the supervisor's (service "pipeline"). */
export interface LogLine {
  service: string;
  msg: string;
  [field: string]: unknown;
}

/**
 * `pipeline start` as a person runs it, on a stack of its own (its own folder, stack ports and
 * service ports, so it never meets a running `npm start` or the tests' shared stack).
 */
export class PipelineRun {
  readonly repoRoot = findRepoRoot(__dirname);
  readonly dir: string;
  readonly lines: LogLine[] = [];
  /** Each service's HTTP port in the current run. */
  readonly ports = new Map<string, number>();
  child: ChildProcess | undefined;
  private stackConfig: StackConfig | undefined;

  constructor(prefix: string) {
    this.dir = mkdtempSync(join(tmpdir(), prefix));
    // PostgreSQL runs as another user when we are root.
    chmodSync(this.dir, 0o755);
  }

  get config(): StackConfig {
    if (!this.stackConfig) throw new Error('PipelineRun.init() was not awaited');
    return this.stackConfig;
  }

  /** Picks the private stack's ports. */
  async init(): Promise<void> {
    const base = await freePortRange(5);
    this.stackConfig = privateStackConfig(
      this.dir,
      { postgres: base, kafka: base + 1, kafkaController: base + 2, ses: base + 3, prometheus: base + 4 },
      this.repoRoot,
    );
  }

  /** What `pipeline start` runs with: the private stack's folder and ports, free service ports. */
  async env(extra: Record<string, string> = {}): Promise<Record<string, string | undefined>> {
    const config = this.config;
    // One more than the services: `--standby-reader` takes the port after theirs.
    const base = await freePortRange(SERVICES.length + 1);
    for (const [i, service] of SERVICES.entries()) this.ports.set(service.name, base + i);
    this.ports.set(STANDBY_READER, base + SERVICES.length);
    const env: Record<string, string | undefined> = {
      ...inheritedEnv(),
      PIPELINE_STACK_DIR: this.dir,
      PIPELINE_PG_PORT: String(config.postgres.port),
      PIPELINE_KAFKA_PORT: String(config.kafka.port),
      PIPELINE_KAFKA_CONTROLLER_PORT: String(config.kafka.controllerPort),
      PIPELINE_SES_PORT: String(config.ses.port),
      PIPELINE_PROMETHEUS_PORT: String(config.prometheus.port),
      PIPELINE_HTTP_PORT_BASE: String(base),
      // A killed consumer's partitions move on quickly.
      CONSUMER_SESSION_TIMEOUT_MS: '6000',
      HANDLER_TIMEOUT_MS: '5000',
      SES_REQUEST_TIMEOUT_MS: '3000',
      LOG_LEVEL: 'info',
    };
    for (const name of ['DATABASE_URL', 'KAFKA_BROKERS', 'SES_ENDPOINT', 'CDC_DATABASE_URL']) delete env[name];
    return { ...env, ...extra };
  }

  /** Starts `pipeline start`, collecting its JSON lines into `lines`; resolves with its exit. */
  start(env: Record<string, string | undefined>, args: string[] = ['--no-demo', '--status-every', '0']): Promise<unknown[]> {
    const started = spawn(process.execPath, [join(this.repoRoot, 'packages', 'cli', 'bin', 'pipeline.js'), 'start', ...args], {
      cwd: this.repoRoot,
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
      // A process group of its own: a SIGINT to it arrives as a terminal's Ctrl-C would.
      detached: true,
    });
    const exited = once(started, 'exit');
    // Piped, so JSON lines.
    createInterface({ input: started.stdout as NodeJS.ReadableStream }).on('line', (text) => {
      if (text.trim() === '') return;
      try {
        this.lines.push(JSON.parse(text) as LogLine);
      } catch {
        throw new Error(`pipeline start wrote a line that is not JSON: ${text}`);
      }
    });
    this.child = started;
    return exited;
  }

  /** Ctrl-C to the running `pipeline start` (its process group), killing it after 30 s; resolves when it exited. */
  async interrupt(): Promise<void> {
    const running = this.child;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const gone = once(running, 'exit');
    process.kill(-(running.pid as number), 'SIGINT');
    const timer = setTimeout(() => running.kill('SIGKILL'), 30_000);
    await gone;
    clearTimeout(timer);
  }

  lastLines(count = 25): string {
    return this.lines
      .slice(-count)
      .map((line) => `${line.service}: ${line.msg}`)
      .join('\n');
  }

  /** Stops what is left and the private stack. */
  async destroy(): Promise<void> {
    if (this.child && this.child.exitCode === null) this.child.kill('SIGKILL');
    if (this.stackConfig) await makeStack(this.stackConfig).down();
  }
}
