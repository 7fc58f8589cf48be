import { makeStack, stackConfigFromEnv } from '@pipeline/stack';
import { Command } from 'commander';
import { CONNECTION_OPTIONS, type ConnectionOptions, withAdmin, withPool } from '../connections';
import { runDemo } from '../demo/run';
import { renderSummary } from '../demo/summary';
import { cliEnv, processEnv } from '../env';
import { positiveNumber, printJson } from '../output';
import { progressBar } from '../progress';

interface DemoCommandOptions extends ConnectionOptions {
  rate: string;
  duration: string;
  seed?: string;
  sesEndpoint?: string;
  json?: boolean;
}

export function demoCommand(): Command {
  const command = new Command('demo')
    .description(
      'Realistic traffic through plain SQL (orders with several items, stock falling and restocked, deals moving to won or lost), then a summary of what the pipeline did with it',
    )
    .option('--rate <per-second>', 'actions per second, each one transaction', '10')
    .option('--duration <seconds>', 'how long to write', '30')
    .option('--seed <n>', 'the same seed, the same traffic (default: random)')
    .option('--ses-endpoint <url>', 'where the emails are read back (default: SES_ENDPOINT, else the local stack)')
    .option('--json', 'print the summary as JSON');
  for (const [flags, help] of CONNECTION_OPTIONS) command.option(flags, help);
  return command.action(async (options: DemoCommandOptions) => {
    const rate = positiveNumber('--rate', options.rate);
    const duration = positiveNumber('--duration', options.duration);
    const seed = options.seed === undefined ? Math.floor(Math.random() * 1_000_000) : Math.floor(positiveNumber('--seed', options.seed));
    const sesEndpoint =
      options.sesEndpoint ??
      processEnv().SES_ENDPOINT ??
      (cliEnv().DATABASE_URL ? undefined : makeStack(stackConfigFromEnv()).endpoints.sesEndpoint);
    await withPool(options, async (pool) => {
      await withAdmin(options, async (admin) => {
        const bar = progressBar(`demo (seed ${seed})`, !options.json);
        let saidAt = 0;
        try {
          const summary = await runDemo({
            pool,
            admin,
            sesEndpoint,
            rate,
            durationSeconds: duration,
            seed,
            onProgress: (done, total) => bar.update(done, total),
            onSettling: (waiting) => {
              bar.stop();
              if (options.json || Date.now() - saidAt < 5_000) return;
              saidAt = Date.now();
              process.stderr.write(`waiting for the pipeline to handle this run: ${waiting}\n`);
            },
          });
          bar.stop();
          if (options.json) printJson({ seed, ...summary });
          else {
            process.stdout.write(renderSummary(summary));
            if (!summary.settled)
              process.stdout.write(
                '  (the pipeline had not finished this run’s work when the summary was taken: see `npx pipeline status`)\n',
              );
          }
        } finally {
          bar.stop();
        }
      });
    });
  });
}
