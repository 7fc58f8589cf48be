import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import type { StackConfig } from './config';
import { stackEndpoints } from './config';
import { LocalProcess, type PortNeed } from './local-process';
import { spawnDetached, tryRun } from './proc';
import { localPrometheusConfig, prometheusHome, scrapeTargetsFile } from './prometheus-config';

const HOW_TO_INSTALL =
  "install Debian's package (sudo apt-get install --no-install-recommends prometheus; it brings promtool), " +
  'or put a prometheus 2.42 or newer on PATH';

/**
 * Makes sure a `prometheus` binary is on PATH: as root with apt-get at hand it installs Debian's
 * package (its service is not started: the stack runs its own), otherwise it says how.
 */
export function ensurePrometheus(log: (line: string) => void = () => {}): void {
  if (tryRun('prometheus', ['--version'])) return;
  const root = userInfo().uid === 0;
  if (root && tryRun('apt-get', ['--version'])) {
    log('prometheus not found: installing it with apt-get install --no-install-recommends prometheus');
    const install = () => tryRun('apt-get', ['install', '-y', '--no-install-recommends', 'prometheus']);
    let result = install();
    if (result?.status !== 0) {
      tryRun('apt-get', ['update']);
      result = install();
    }
    if (result?.status === 0 && tryRun('prometheus', ['--version'])) return;
    throw new Error(
      `prometheus not found, and apt-get could not install it (${(result?.stderr ?? '').trim().split('\n').at(-1) ?? 'no output'}): ${HOW_TO_INSTALL}`,
    );
  }
  throw new Error(`prometheus not found: ${HOW_TO_INSTALL}`);
}

/**
 * A real Prometheus (Debian's package) scraping the services `pipeline start` lists in the targets
 * file and evaluating the pipeline's alerting rules, every 5 s. Its data lives in the stack folder.
 */
export class LocalPrometheus extends LocalProcess {
  readonly name = 'prometheus';
  protected readonly marker: string;
  protected readonly stopSignal = 'SIGTERM';
  protected override readonly stopGraceMs = 15_000;
  protected override readonly readyTimeoutMs = 60_000;
  private readonly home: string;

  constructor(config: StackConfig) {
    super(config, 'prometheus');
    this.home = prometheusHome(config);
    this.marker = `--storage.tsdb.path=${join(this.home, 'data')}`;
  }

  protected address(): string {
    return stackEndpoints(this.config).prometheusUrl;
  }

  protected external(): string | undefined {
    return undefined;
  }

  protected ports(): PortNeed[] {
    return [{ port: this.config.prometheus.port, what: 'Prometheus', variable: 'PIPELINE_PROMETHEUS_PORT' }];
  }

  /** The configuration this stack's Prometheus runs with (rewritten at every start). */
  get configFile(): string {
    return join(this.home, 'prometheus.yml');
  }

  protected async launch(): Promise<number> {
    ensurePrometheus((line) => process.stderr.write(`${line}\n`));
    mkdirSync(join(this.home, 'data'), { recursive: true });
    writeFileSync(this.configFile, `${JSON.stringify(localPrometheusConfig(this.config), null, 2)}\n`);
    // No targets until `pipeline start` names its services: nothing is down while only the stack runs.
    const targets = scrapeTargetsFile(this.config);
    if (!existsSync(targets)) {
      mkdirSync(join(this.home, 'targets'), { recursive: true });
      writeFileSync(targets, '[]\n');
    }
    return spawnDetached({
      command: 'prometheus',
      args: [
        `--config.file=${this.configFile}`,
        this.marker,
        '--storage.tsdb.retention.time=15d',
        `--web.listen-address=127.0.0.1:${this.config.prometheus.port}`,
        '--web.enable-lifecycle',
      ],
      cwd: this.home,
      logFile: this.logFile,
    });
  }

  protected async check(): Promise<string | undefined> {
    try {
      const response = await fetch(`${this.address()}/-/ready`, { signal: AbortSignal.timeout(2_000) });
      return response.ok ? undefined : `GET /-/ready answered ${response.status}`;
    } catch (error) {
      return (error as Error).message;
    }
  }
}
