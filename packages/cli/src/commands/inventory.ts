import { Command } from 'commander';
import { CONNECTION_OPTIONS, type ConnectionOptions } from '../connections';
import { formatDuration, formatTable, printJson } from '../output';
import { runServiceJob } from '../service-job';

const SERVICE = 'inventory-watcher';
const JOB = 'daily-check';

/** What inventory-watcher's daily check reports in its run's details. */
interface DailyCheckDetails {
  checked?: number;
  lowWithoutTask?: number;
  created?: { taskId: string; inventoryId: string; productName: string; quantity: number; threshold: number }[];
  closed?: number;
  cancelled?: number;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

function checkCommand(): Command {
  const command = new Command('check')
    .description(
      "Run inventory-watcher's daily check now: every item below its reorder threshold without an open reorder task gets one " +
        '(with its notification); open tasks of items no longer low are closed. A manual run, recorded in job_runs; the scheduled run still happens',
    )
    .option('--entry <file>', "inventory-watcher's entry point (default: services/inventory-watcher/dist/main.js)")
    .option('--verbose', 'show the service’s log lines as it runs')
    .option('--json', 'print the run’s outcome as JSON');
  for (const [flags, help] of CONNECTION_OPTIONS) command.option(flags, help);
  return command.action(async (options: ConnectionOptions & { entry?: string; verbose?: boolean; json?: boolean }) => {
    const { result, exitCode } = await runServiceJob({ ...options, service: SERVICE, job: JOB, progress: !options.json });
    process.exitCode = exitCode;
    if (options.json) return printJson(result);
    if (result.outcome !== 'succeeded') {
      process.stdout.write(
        `the daily check failed after ${formatDuration(result.durationMs)}: ${result.error} (run ${result.runId}; --verbose shows the service's log)\n`,
      );
      return;
    }
    const details = (result.details ?? {}) as DailyCheckDetails;
    const created = details.created ?? [];
    process.stdout.write(
      `daily check: ${plural(details.checked ?? result.items ?? 0, 'item')} checked, ${details.lowWithoutTask ?? 0} low without an open reorder task, ` +
        `${plural(created.length, 'task')} created, ${details.closed ?? 0} closed (restocked), ${details.cancelled ?? 0} cancelled (item gone) ` +
        `in ${formatDuration(result.durationMs)} (run ${result.runId})\n`,
    );
    if (created.length > 0) {
      const rows = created.map((task) => [
        task.productName,
        `${task.quantity} / ${task.threshold}`,
        task.inventoryId,
        `/tasks/${task.taskId}`,
      ]);
      process.stdout.write(`${formatTable(['created for', 'stock / threshold', 'item', 'task'], rows)}\n`);
    }
  });
}

export function inventoryCommand(): Command {
  return new Command('inventory').description('inventory-watcher: reorder tasks of items below their threshold').addCommand(checkCommand());
}
