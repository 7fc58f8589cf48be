import { createInterface } from 'node:readline/promises';
import { dropSlot, SlotBusyError, type SlotReport, slotReports } from '@pipeline/db';
import { redactUrl } from '@pipeline/runtime';
import { Command } from 'commander';
import pg from 'pg';
import { type ConnectionOptions, databaseUrlOf } from '../connections';
import { CliError, formatBytes, formatTable, printJson } from '../output';

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, application_name: 'pipeline-slot' });
  await client.connect().catch((error: Error) => {
    throw new CliError(`cannot connect to ${redactUrl(url)}: ${error.message}; is the database up (\`pipeline stack up\`)?`);
  });
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

function snapshotSummary(report: SlotReport): string {
  if (report.snapshot.length === 0) return report.reader ? 'none' : '-';
  const done = report.snapshot.filter((s) => s.done).length;
  const rows = report.snapshot.reduce((sum, s) => sum + s.rowsEmitted, 0);
  return done === report.snapshot.length ? `done (${rows} rows)` : `${done}/${report.snapshot.length} tables, ${rows} rows so far`;
}

function printReports(reports: SlotReport[]): void {
  if (reports.length === 0) {
    process.stdout.write('no logical replication slots in this database\n');
    return;
  }
  const rows = reports.map((r) => [
    r.slot,
    r.active ? `yes (pid ${r.activePid})` : 'no',
    r.leader ? `pid ${r.leader.pid}${r.leader.clientAddr ? ` ${r.leader.clientAddr}` : ''}` : '-',
    formatBytes(r.lagBytes),
    formatBytes(r.retainedBytes),
    r.walStatus ?? '-',
    r.confirmedFlushLsn ?? '-',
    snapshotSummary(r),
  ]);
  process.stdout.write(
    `${formatTable(['slot', 'active', 'leader', 'lag', 'retained WAL', 'WAL status', 'confirmed', 'snapshot'], rows)}\n`,
  );
  for (const r of reports) {
    if (r.interruption) {
      process.stdout.write(
        `\n${r.slot}: its initial snapshot was interrupted ${r.interruption.times} time${r.interruption.times === 1 ? '' : 's'} in a row ` +
          `by the same cause (the reader stops at 3): ${r.interruption.message}\n`,
      );
    }
    if (r.walStatus === 'lost') {
      process.stdout.write(
        `\n${r.slot}: WAL it needed was removed, so changes were missed. Restart its reader with CDC_ALLOW_NEW_SNAPSHOT=true to take a new snapshot.\n`,
      );
    } else if (!r.active && r.reader) {
      process.stdout.write(
        `\n${r.slot}: no reader streams from it, and PostgreSQL keeps its WAL (${formatBytes(r.retainedBytes)}): start the cdc-reader, or drop the slot.\n`,
      );
    }
  }
}

async function confirm(slot: string): Promise<boolean> {
  if (!process.stdin.isTTY) {
    throw new CliError(`refusing to drop slot ${slot} without confirmation: run it in a terminal, or add --yes`);
  }
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = await rl.question(
      `Dropping slot ${slot} discards the changes it holds; the next reader start takes a new snapshot.\nType the slot name to drop it: `,
    );
    return answer.trim() === slot;
  } finally {
    rl.close();
  }
}

export function slotCommand(): Command {
  const slot = new Command('slot').description('Inspect and drop the cdc-reader’s logical replication slots');
  slot
    .command('status')
    .description('Active, owner (walsender) PID, leader, lag, retained WAL, WAL status, confirmed LSN and snapshot progress of each slot')
    .argument('[slot]', 'only this slot')
    .option('--database-url <url>', 'database (default: DATABASE_URL, else the local stack)')
    .option('--json', 'print the result as JSON')
    .action(async (name: string | undefined, options: ConnectionOptions & { json?: boolean }) => {
      const reports = await withClient(databaseUrlOf(options), (client) => slotReports(client, name));
      if (name && reports.length === 0) throw new CliError(`no logical replication slot named ${name} in this database`);
      if (options.json) return printJson(reports);
      printReports(reports);
    });
  slot
    .command('drop')
    .description('Drop a slot no reader streams from (asks first); the next reader start creates a new one with a new snapshot')
    .argument('<slot>', 'the slot to drop')
    .option('--database-url <url>', 'database (default: DATABASE_URL, else the local stack)')
    .option('--yes', 'do not ask for confirmation')
    .action(async (name: string, options: ConnectionOptions & { yes?: boolean }) => {
      await withClient(databaseUrlOf(options), async (client) => {
        const [report] = await slotReports(client, name);
        if (!report) throw new CliError(`no logical replication slot named ${name} in this database; \`pipeline slot status\` lists them`);
        if (report.active) throw new CliError(new SlotBusyError(name, report.activePid).message);
        if (!options.yes && !(await confirm(name))) throw new CliError('not dropped: the name did not match');
        await dropSlot(client, name);
        process.stdout.write(`dropped slot ${name}; the next cdc-reader start creates a new slot and takes a new snapshot\n`);
      });
    });
  return slot;
}
