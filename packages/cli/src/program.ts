import { Command } from 'commander';
import { migrateCommand } from './commands/migrate';
import { slotCommand } from './commands/slot';
import { stackCommand } from './commands/stack';
import { startCommand } from './commands/start';

export function buildProgram(): Command {
  const program = new Command('pipeline')
    .description('Operate the WAL event pipeline: local stack, migrations, services')
    .showHelpAfterError('(add --help for usage)')
    .addCommand(stackCommand())
    .addCommand(migrateCommand())
    .addCommand(slotCommand())
    .addCommand(startCommand());
  return program;
}
