import { Command } from 'commander';
import { CONNECTION_OPTIONS, type ConnectionOptions, withAdmin, withPool } from '../connections';
import { cliEnv } from '../env';
import { CliError, printJson } from '../output';
import { servicePorts } from '../services';
import { collectStatus } from '../status/collect';
import { renderStatus } from '../status/render';

interface StatusOptions extends ConnectionOptions {
  json?: boolean;
  watch?: string | boolean;
}

export function statusCommand(): Command {
  const command = new Command('status')
    .description(
      'The whole pipeline on one screen: each service up and ready, consumer lag per group, slot lag and retained WAL, open dead letters, scheduled jobs, events per second',
    )
    .option('--json', 'print the status as JSON')
    .option('--watch [seconds]', 'refresh every few seconds (default 5) until Ctrl-C');
  for (const [flags, help] of CONNECTION_OPTIONS) command.option(flags, help);
  return command.action(async (options: StatusOptions) => {
    const every = options.watch === undefined || options.watch === false ? undefined : options.watch === true ? 5 : Number(options.watch);
    if (every !== undefined && !(every > 0))
      throw new CliError(`--watch expects a number of seconds, for example --watch 5 (got ${options.watch})`);
    const ports = servicePorts(cliEnv().PIPELINE_HTTP_PORT_BASE);
    const services = [...ports].map(([name, port]) => ({ name, port }));
    await withPool(options, async (pool) => {
      await withAdmin(options, async (admin) => {
        for (;;) {
          const status = await collectStatus({ pool, admin, services, readerDlqTopic: cliEnv().CDC_DLQ_TOPIC });
          if (options.json) printJson(status);
          else process.stdout.write(`${every !== undefined && process.stdout.isTTY ? '\x1b[2J\x1b[H' : ''}${renderStatus(status)}`);
          if (every === undefined) return;
          await new Promise((resolve) => setTimeout(resolve, every * 1000));
        }
      });
    });
  });
}
