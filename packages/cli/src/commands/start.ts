import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { READER_ROLE } from '@pipeline/db';
import { makeStack, stackConfigFromEnv } from '@pipeline/stack';
import { Command } from 'commander';
import { cliEnv, processEnv } from '../env';
import { localOrderProcessorEnv } from '../local-secrets';
import { formatDuration } from '../output';
import { SERVICES, serviceEntryPoint } from '../services';
import { runMigrations } from './migrate';

/** The same server and database, another user. */
function withCredentials(url: string, user: string, password: string): string {
  const parsed = new URL(url);
  parsed.username = user;
  parsed.password = password;
  return parsed.toString();
}

const STOP_DEADLINE_MS = 20_000;

/** Prefixes each line of a child's output with its name, so four services can share one terminal. */
function forward(child: ChildProcess, name: string): void {
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue;
    createInterface({ input: stream }).on('line', (line) => process.stdout.write(`[${name}] ${line}\n`));
  }
}

export function startCommand(): Command {
  return new Command('start')
    .description('Bring the local stack up if needed, migrate, and run the four services until Ctrl-C')
    .action(async () => {
      const local = makeStack(stackConfigFromEnv());
      const started = Date.now();
      process.stdout.write('local stack:\n');
      await local.up((r) =>
        process.stdout.write(
          `  ${r.name.padEnd(8)} ${r.reused ? 'already running' : `started in ${formatDuration(r.tookMs)}`}  ${r.address}\n`,
        ),
      );
      process.stdout.write('migrations:\n');
      const settings = cliEnv();
      const isLocal = !settings.DATABASE_URL;
      const readerPassword = settings.PIPELINE_READER_PASSWORD ?? (isLocal ? READER_ROLE : undefined);
      const migrated = await runMigrations({
        databaseUrl: local.endpoints.databaseUrl,
        ...(readerPassword ? { readerPassword } : {}),
        log: (line) => process.stdout.write(`${line}\n`),
      });
      if (migrated.applied.length === 0) process.stdout.write(`  up to date (${migrated.alreadyApplied} migrations)\n`);

      const env = {
        ...processEnv(),
        DATABASE_URL: local.endpoints.databaseUrl,
        KAFKA_BROKERS: local.endpoints.kafkaBrokers.join(','),
        SES_ENDPOINT: local.endpoints.sesEndpoint,
        ...localOrderProcessorEnv(local.config.dir, processEnv()),
      };
      const readerUrl =
        settings.CDC_DATABASE_URL ??
        (readerPassword ? withCredentials(local.endpoints.databaseUrl, READER_ROLE, readerPassword) : local.endpoints.databaseUrl);
      const children = new Map<string, ChildProcess>();
      let stopping = false;
      const stopAll = async (exitCode: number) => {
        if (stopping) return;
        stopping = true;
        process.stdout.write('stopping services (the stack keeps running: `npx pipeline stack down` stops it)\n');
        const exits = [...children.values()].map(
          (child) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null || child.signalCode !== null) return resolve();
              child.once('exit', () => resolve());
              child.kill('SIGTERM');
            }),
        );
        const deadline = setTimeout(() => {
          for (const child of children.values()) child.kill('SIGKILL');
        }, STOP_DEADLINE_MS);
        await Promise.all(exits);
        clearTimeout(deadline);
        process.exit(exitCode);
      };

      for (const service of SERVICES) {
        // The reader logs in as its least-privileged role (REPLICATION, SELECT), never as the owner.
        const databaseUrl = service.name === 'cdc-reader' ? readerUrl : env.DATABASE_URL;
        const child = spawn(process.execPath, [serviceEntryPoint(local.config.repoRoot, service.name)], {
          env: { ...env, DATABASE_URL: databaseUrl, HTTP_PORT: String(service.httpPort) },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        children.set(service.name, child);
        forward(child, service.name);
        child.on('exit', (code, signal) => {
          if (stopping) return;
          process.stdout.write(`[${service.name}] exited (${signal ?? `code ${code}`}): stopping the others\n`);
          void stopAll(1);
        });
      }
      process.stdout.write(
        `pipeline running (${formatDuration(Date.now() - started)} to start). Endpoints:\n` +
          SERVICES.map((s) => `  ${s.name.padEnd(18)} http://127.0.0.1:${s.httpPort}/metrics  /healthz  /readyz`).join('\n') +
          '\nCtrl-C stops the services.\n',
      );
      process.on('SIGINT', () => void stopAll(0));
      process.on('SIGTERM', () => void stopAll(0));
    });
}
