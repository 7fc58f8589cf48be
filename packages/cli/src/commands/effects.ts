import {
  abandonEffect,
  effectActions,
  LedgerActionError,
  type LedgerEntry,
  type LedgerStatus,
  ledgerEntry,
  listLedger,
  markEffectRecorded,
  releaseEffect,
} from '@pipeline/db';
import { Command } from 'commander';
import type pg from 'pg';
import { CONNECTION_OPTIONS, type ConnectionOptions, withPool } from '../connections';
import { actorOf } from '../env';
import { CliError, formatTable, printJson } from '../output';

interface EntryOptions extends ConnectionOptions {
  effect: string;
  note: string;
  actor?: string;
  json?: boolean;
}

const view = (entry: LedgerEntry) => ({
  key: entry.key,
  effect: entry.effect,
  status: entry.status,
  attempts: entry.attempts,
  claimedAt: entry.claimedAt.toISOString(),
  recordedAt: entry.recordedAt?.toISOString() ?? null,
  providerRef: entry.providerRef,
  lastError: entry.lastError,
});

function withConnections(command: Command): Command {
  for (const [flags, help] of CONNECTION_OPTIONS) command.option(flags, help);
  return command.option('--json', 'print the result as JSON');
}

function listCommand(): Command {
  return withConnections(
    new Command('list')
      .description('Entries of the effects ledger: by default the open claims (performed or not: a person must say which)')
      .option('--status <status>', 'claimed, recorded, abandoned or all', 'claimed')
      .option('--all', 'every entry (same as --status all)')
      .option('--effect <effect>', 'only this effect, for example confirmation-email')
      .option('--key <text>', 'only entries whose key contains this text'),
  ).action(async (options: ConnectionOptions & { status: string; all?: boolean; effect?: string; key?: string; json?: boolean }) => {
    const status = options.all ? 'all' : options.status;
    if (!['claimed', 'recorded', 'abandoned', 'all'].includes(status)) {
      throw new CliError(`--status expects claimed, recorded, abandoned or all (got ${JSON.stringify(status)})`);
    }
    await withPool(options, async (pool) => {
      const entries = await listLedger(pool, {
        status: status as LedgerStatus | 'all',
        ...(options.effect ? { effect: options.effect } : {}),
        ...(options.key ? { keyContains: options.key } : {}),
      });
      if (options.json) return printJson(entries.map(view));
      if (entries.length === 0) {
        process.stdout.write(status === 'claimed' ? 'no open claims: every effect is recorded or abandoned\n' : 'no ledger entries\n');
        return;
      }
      const rows = entries.map((e) => [
        e.key,
        e.effect,
        e.status,
        String(e.attempts),
        e.claimedAt.toISOString(),
        e.providerRef ?? (e.lastError ? `last error: ${e.lastError}`.slice(0, 60) : '-'),
      ]);
      process.stdout.write(`${formatTable(['key', 'effect', 'status', 'attempts', 'claimed', 'provider ref / last error'], rows)}\n`);
    });
  });
}

function showCommand(): Command {
  return withConnections(
    new Command('show')
      .description('One ledger entry and what operators did with it')
      .argument('<key>', 'the entry’s key (from `pipeline effects list`)')
      .requiredOption('--effect <effect>', 'the entry’s effect'),
  ).action(async (key: string, options: ConnectionOptions & { effect: string; json?: boolean }) => {
    await withPool(options, async (pool) => {
      const entry = await ledgerEntry(pool, key, options.effect);
      if (!entry) throw new CliError(`no ledger entry ${key} --effect ${options.effect}: \`pipeline effects list --all\` lists them`);
      const actions = await effectActions(pool, key, options.effect);
      if (options.json) return printJson({ ...view(entry), actions: actions.map((a) => ({ ...a, at: a.at.toISOString() })) });
      process.stdout.write(
        [
          `${entry.effect} for ${entry.key}: ${entry.status}, ${entry.attempts} attempt(s), claimed ${entry.claimedAt.toISOString()}`,
          `  provider ref  ${entry.providerRef ?? '-'}`,
          `  recorded      ${entry.recordedAt?.toISOString() ?? '-'}`,
          `  last error    ${entry.lastError ?? '-'}`,
          ...actions.map(
            (a) =>
              `  ${a.action.padEnd(15)} by ${a.actor} at ${a.at.toISOString()}${a.providerRef ? ` (ref ${a.providerRef})` : ''}${a.note ? `: ${a.note}` : ''}`,
          ),
          '',
        ].join('\n'),
      );
    });
  });
}

/** One of the three decisions on an open claim, with its consequence said in the output. */
function decisionCommand(
  name: string,
  description: string,
  apply: (pool: pg.Pool, key: string, options: EntryOptions & { ref?: string }) => Promise<LedgerEntry | undefined>,
  outcome: string,
  extra?: (command: Command) => Command,
): Command {
  let command = new Command(name)
    .description(description)
    .argument('<key>', 'the entry’s key (from `pipeline effects list`)')
    .requiredOption('--effect <effect>', 'the entry’s effect')
    .requiredOption('--note <text>', 'why (what the provider said, a ticket): kept with the entry')
    .option('--actor <name>', 'who decides (default: PIPELINE_ACTOR, else the OS user)');
  if (extra) command = extra(command);
  return withConnections(command).action(async (key: string, options: EntryOptions & { ref?: string }) => {
    await withPool(options, async (pool) => {
      let after: LedgerEntry | undefined;
      try {
        after = await apply(pool, key, options);
      } catch (error) {
        if (error instanceof LedgerActionError) throw new CliError(error.message);
        throw error;
      }
      if (options.json)
        return printJson({ key, effect: options.effect, action: name, actor: actorOf(options.actor), entry: after ? view(after) : null });
      process.stdout.write(`${options.effect} for ${key}: ${outcome} (by ${actorOf(options.actor)})\n`);
    });
  });
}

export function effectsCommand(): Command {
  return new Command('effects')
    .description('The effects ledger: see the claims a crash left open, and say whether each effect happened')
    .addCommand(listCommand())
    .addCommand(showCommand())
    .addCommand(
      decisionCommand(
        'release',
        'Confirmed NOT performed (the provider has no trace of it): the claim goes, and a redrive of its event performs the effect',
        (pool, key, o) => releaseEffect(pool, { key, effect: o.effect, actor: actorOf(o.actor), note: o.note }),
        'released; a redrive of its event performs it',
      ),
    )
    .addCommand(
      decisionCommand(
        'mark-recorded',
        'Confirmed performed: recorded with the provider’s id, and a redrive of its event skips it',
        (pool, key, o) =>
          markEffectRecorded(pool, { key, effect: o.effect, actor: actorOf(o.actor), note: o.note, providerRef: o.ref ?? '' }),
        'recorded as performed; a redrive of its event skips it',
        (command) => command.requiredOption('--ref <ref>', 'the provider’s id of what was done (for example the SES message id)'),
      ),
    )
    .addCommand(
      decisionCommand(
        'abandon',
        'Never to be performed: a redrive of its event completes the event without it',
        (pool, key, o) => abandonEffect(pool, { key, effect: o.effect, actor: actorOf(o.actor), note: o.note }),
        'abandoned; a redrive of its event completes without it',
      ),
    );
}
