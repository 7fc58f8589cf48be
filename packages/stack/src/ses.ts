import { join } from 'node:path';
import type { StackConfig } from './config';
import { stackEndpoints } from './config';
import { LocalProcess, type PortNeed } from './local-process';
import { spawnDetached } from './proc';

/** Our entry point for the endpoint process, compiled (this file may run from src/ under jest). */
function sesCli(): string {
  return join(__dirname, '..', 'dist', 'ses-server.js');
}

/** An SES-compatible HTTP endpoint (aws-ses-v2-local); sent mail is readable at GET /store. */
export class LocalSes extends LocalProcess {
  readonly name = 'ses';
  protected readonly marker: string;
  protected readonly stopSignal = 'SIGTERM';
  protected override readonly stopGraceMs = 10_000;

  constructor(config: StackConfig) {
    super(config, 'ses');
    this.marker = `--stack-dir=${config.dir}`;
  }

  protected address(): string {
    return stackEndpoints(this.config).sesEndpoint;
  }

  protected external(): string | undefined {
    return this.config.ses.externalUrl ? 'SES_ENDPOINT' : undefined;
  }

  protected ports(): PortNeed[] {
    return [{ port: this.config.ses.port, what: 'SES endpoint', variable: 'PIPELINE_SES_PORT' }];
  }

  protected async launch(): Promise<number> {
    // The package binds every interface unless told otherwise: loopback only.
    return spawnDetached({
      command: process.execPath,
      args: [sesCli(), '--host', '127.0.0.1', '--port', String(this.config.ses.port), this.marker],
      logFile: this.logFile,
    });
  }

  protected async check(): Promise<string | undefined> {
    try {
      const response = await fetch(`${this.address()}/store`, { signal: AbortSignal.timeout(2_000) });
      return response.ok ? undefined : `GET /store answered ${response.status}`;
    } catch (error) {
      return (error as Error).message;
    }
  }
}
