import { listJobs, type RegisteredJob } from '@pipeline/db';
import { makeSchedule } from '@pipeline/kit';
import { Command } from 'commander';
import { CONNECTION_OPTIONS, type ConnectionOptions, withPool } from '../connections';
import { CliError, formatDuration, formatTable, printJson } from '../output';
import { runServiceJob } from '../service-job';

interface JobsOptions extends ConnectionOptions {
  service?: string;
  json?: boolean;
}

/** When a registered job is next due, or why that cannot be said. */
export function nextRun(job: RegisteredJob, now: Date): string | null {
  try {
    return makeSchedule(job.cron, job.timeZone).next(now).toISOString();
  } catch {
    return null;
  }
}

function listCommand(): Command {
  const command = new Command('list')
    .description('Every scheduled job the services registered: schedule, next run, last attempt and last success')
    .option('--service <name>', 'only this service’s jobs')
    .option('--json', 'print the result as JSON');
  for (const [flags, help] of CONNECTION_OPTIONS) command.option(flags, help);
  return command.action(async (options: JobsOptions) => {
    await withPool(options, async (pool) => {
      const jobs = await listJobs(pool, options.service);
      const now = new Date();
      const views = jobs.map((job) => ({
        service: job.service,
        job: job.name,
        cron: job.cron,
        timeZone: job.timeZone,
        nextRunAt: nextRun(job, now),
        lastSuccessAt: job.lastSuccessAt?.toISOString() ?? null,
        lastRun: job.lastRun
          ? {
              trigger: job.lastRun.trigger,
              outcome: job.lastRun.outcome,
              scheduledFor: job.lastRun.scheduledFor.toISOString(),
              attempt: job.lastRun.attempt,
              startedAt: job.lastRun.startedAt.toISOString(),
              finishedAt: job.lastRun.finishedAt?.toISOString() ?? null,
              items: job.lastRun.items,
              error: job.lastRun.error,
              replica: job.lastRun.replica,
            }
          : null,
      }));
      if (options.json) return printJson(views);
      if (views.length === 0) {
        process.stdout.write('no scheduled jobs are registered (a service registers its jobs when it starts)\n');
        return;
      }
      const rows = views.map((v) => [
        v.service,
        v.job,
        `${v.cron} ${v.timeZone}`,
        v.nextRunAt ?? '(invalid schedule)',
        v.lastRun
          ? `${v.lastRun.outcome} (${v.lastRun.trigger}${v.lastRun.attempt > 1 ? `, attempt ${v.lastRun.attempt}` : ''}) ${v.lastRun.startedAt}` +
            `${v.lastRun.error ? `: ${v.lastRun.error}` : ''}`.slice(0, 100)
          : 'never run',
        v.lastSuccessAt ?? '-',
      ]);
      process.stdout.write(`${formatTable(['service', 'job', 'schedule', 'next run', 'last run', 'last success'], rows)}\n`);
    });
  });
}

/** Which service runs `name`: the one given, else the only one that registered a job of that name. */
async function ownerOf(name: string, options: JobsOptions): Promise<string> {
  if (options.service) return options.service;
  const owners = await withPool(options, async (pool) =>
    (await listJobs(pool)).filter((job) => job.name === name).map((job) => job.service),
  );
  if (owners.length === 1) return owners[0] as string;
  if (owners.length === 0) {
    throw new CliError(
      `no service has registered a job named ${name}: \`pipeline jobs list\` shows the jobs; a service registers its jobs when it starts (or name it with --service)`,
    );
  }
  throw new CliError(`several services have a job named ${name} (${owners.join(', ')}): choose one with --service`);
}

function runCommand(): Command {
  const command = new Command('run')
    .description(
      "Run a scheduled job once, now, as a manual run (recorded in job_runs; it takes no occurrence's claim, so the scheduled run still happens). " +
        "It starts the service's own entry point in job mode (node dist/main.js run-job NAME), with the service's environment",
    )
    .argument('<name>', 'the job (from `pipeline jobs list`)')
    .option('--service <name>', 'the service whose job it is (default: the only service that registered that name)')
    .option(
      '--entry <file>',
      "the service's entry point, for a service that is not in this checkout (default: services/<service>/dist/main.js)",
    )
    .option('--verbose', 'show the service’s log lines as it runs')
    .option('--json', 'print the run’s outcome as JSON');
  for (const [flags, help] of CONNECTION_OPTIONS) command.option(flags, help);
  return command.action(async (name: string, options: JobsOptions & { entry?: string; verbose?: boolean }) => {
    const service = await ownerOf(name, options);
    const { result, exitCode: code } = await runServiceJob({
      ...options,
      service,
      job: name,
      progress: !options.json,
    });
    if (options.json) printJson(result);
    else if (result.outcome === 'succeeded') {
      process.stdout.write(
        `${name} of ${service} succeeded in ${formatDuration(result.durationMs)}` +
          `${result.items === undefined ? '' : `, ${result.items} item${result.items === 1 ? '' : 's'}`}` +
          `${result.details ? ` ${JSON.stringify(result.details)}` : ''} (run ${result.runId})\n`,
      );
    } else {
      process.stdout.write(
        `${name} of ${service} failed after ${formatDuration(result.durationMs)}: ${result.error} (run ${result.runId}; --verbose shows the service's log)\n`,
      );
    }
    process.exitCode = code;
  });
}

export function jobsCommand(): Command {
  return new Command('jobs')
    .description('Scheduled jobs of the services: list them, or run one now')
    .addCommand(listCommand())
    .addCommand(runCommand());
}
