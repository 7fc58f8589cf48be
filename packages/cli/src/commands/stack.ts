import { redactUrl } from '@pipeline/runtime';
import { type ComponentStatus, makeStack, stackConfigFromEnv, type UpResult } from '@pipeline/stack';
import { Command } from 'commander';
import { formatDuration, formatTable, printJson } from '../output';

function statusRows(statuses: ComponentStatus[]): string[][] {
  return statuses.map((s) => [
    s.name,
    s.state,
    s.healthy ? 'healthy' : 'down',
    s.pid === undefined ? '-' : String(s.pid),
    s.address,
    s.detail ?? '',
  ]);
}

export function stackCommand(): Command {
  const stack = new Command('stack').description(
    'Run the local stack without Docker: PostgreSQL (logical WAL), Apache Kafka (KRaft), an SES endpoint and Prometheus, on loopback ports of their own',
  );

  stack
    .command('up')
    .description('Start what is not running, reuse what is, and wait until every part is ready')
    .option('--json', 'print the result as JSON')
    .action(async (options: { json?: boolean }) => {
      const local = makeStack(stackConfigFromEnv());
      const started = Date.now();
      if (!options.json) process.stdout.write(`starting the local stack in ${local.config.dir}\n`);
      const results = await local.up((result: UpResult) => {
        if (options.json) return;
        const verb = result.reused ? 'already running' : `started in ${formatDuration(result.tookMs)}`;
        process.stdout.write(
          `  ${result.name.padEnd(10)} ${verb.padEnd(22)} ${result.address}${result.pid ? `  (pid ${result.pid})` : ''}\n`,
        );
      });
      // A database of the user's own (DATABASE_URL) is shown without its password; the local one's is public.
      const databaseUrl = local.config.postgres.externalUrl ? redactUrl(local.endpoints.databaseUrl) : local.endpoints.databaseUrl;
      if (options.json) {
        printJson({
          dir: local.config.dir,
          endpoints: { ...local.endpoints, databaseUrl },
          tookMs: Date.now() - started,
          components: results,
        });
        return;
      }
      process.stdout.write(
        `ready in ${formatDuration(Date.now() - started)}\n` +
          `  DATABASE_URL=${databaseUrl}\n` +
          `  KAFKA_BROKERS=${local.endpoints.kafkaBrokers.join(',')}\n` +
          `  SES_ENDPOINT=${local.endpoints.sesEndpoint}\n` +
          `  Prometheus: ${local.endpoints.prometheusUrl} (scrapes what \`pipeline start\` runs)\n`,
      );
    });

  stack
    .command('down')
    .description('Stop every process `stack up` started (data is kept)')
    .option('--json', 'print the result as JSON')
    .action(async (options: { json?: boolean }) => {
      const local = makeStack(stackConfigFromEnv());
      const results = await local.down();
      if (options.json) return printJson(results);
      for (const result of results) {
        process.stdout.write(
          `  ${result.name.padEnd(10)} ${result.stopped ? `stopped (pids ${result.pids.join(', ')})` : 'was not running'}\n`,
        );
      }
    });

  stack
    .command('status')
    .description('Show each part of the local stack: state, health, PID, address')
    .option('--json', 'print the result as JSON')
    .action(async (options: { json?: boolean }) => {
      const local = makeStack(stackConfigFromEnv());
      const statuses = await local.status();
      if (options.json) return printJson({ dir: local.config.dir, endpoints: local.endpoints, components: statuses });
      process.stdout.write(`${formatTable(['PART', 'STATE', 'HEALTH', 'PID', 'ADDRESS', 'DETAIL'], statusRows(statuses))}\n`);
      process.stdout.write(`data: ${local.config.dir}\n`);
    });

  return stack;
}
