import { Command } from 'commander';
import { bundleCommand } from './commands/bundle';
import { demoCommand } from './commands/demo';
import { dlqCommand } from './commands/dlq';
import { effectsCommand } from './commands/effects';
import { inventoryCommand } from './commands/inventory';
import { invoicesCommand } from './commands/invoices';
import { jobsCommand } from './commands/jobs';
import { migrateCommand } from './commands/migrate';
import { projectionCommand } from './commands/projection';
import { replayCommand } from './commands/replay';
import { slotCommand } from './commands/slot';
import { stackCommand } from './commands/stack';
import { startCommand } from './commands/start';
import { statusCommand } from './commands/status';
import { traceCommand } from './commands/trace';
import { webhooksCommand } from './commands/webhooks';

export function buildProgram(): Command {
  const program = new Command('pipeline')
    .description('Operate the WAL event pipeline: local stack, migrations, services')
    .showHelpAfterError('(add --help for usage)')
    .addCommand(stackCommand())
    .addCommand(migrateCommand())
    .addCommand(slotCommand())
    .addCommand(dlqCommand())
    .addCommand(replayCommand())
    .addCommand(projectionCommand())
    .addCommand(jobsCommand())
    .addCommand(effectsCommand())
    .addCommand(inventoryCommand())
    .addCommand(invoicesCommand())
    .addCommand(startCommand())
    .addCommand(statusCommand())
    .addCommand(demoCommand())
    .addCommand(traceCommand())
    .addCommand(bundleCommand())
    .addCommand(webhooksCommand());
  return program;
}
