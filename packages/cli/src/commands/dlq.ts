import { type DeadLetterActionRecord, deadLetterActions, dlqSelector, recordDeadLetterActions } from '@pipeline/db';
import {
  type DeadLetter,
  type DeadLetterFilter,
  deadLetterTopic,
  matchesFilter,
  READER_DLQ_HEADERS,
  readDeadLetterTopic,
  SchemaResolver,
  sendToRedrive,
} from '@pipeline/kafka';
import { bundledSchemas, EnvelopeDecoder, isSnapshotEnd, SCHEMA_TOPIC } from '@pipeline/schemas';
import { Command } from 'commander';
import type pg from 'pg';
import { CONNECTION_OPTIONS, type ConnectionOptions, cliKafka, withPool } from '../connections';
import { actorOf, cliEnv } from '../env';
import { CliError, formatDuration, formatTable, printJson } from '../output';
import { progressBar } from '../progress';

interface LetterOptions extends ConnectionOptions {
  service: string;
  /** The consumer group whose <group>.dlq is read (default: the service). */
  group?: string;
  error?: string;
  sourceTopic?: string;
  json?: boolean;
}

/** A dead letter with what people did about it. */
interface LetterView extends DeadLetter {
  status: 'open' | 'redriven' | 'resolved';
  actions: DeadLetterActionRecord[];
}

const groupOf = (options: LetterOptions): string => options.group ?? options.service;

/** The cdc-reader's dead letters (changes it could not encode, or too large for their topic) are on CDC_DLQ_TOPIC; it has no consumer group. */
const READER = 'cdc-reader';
const isReader = (options: LetterOptions): boolean => options.service === READER;

/** Where the letters are: the reader's CDC_DLQ_TOPIC, else the group's `<group>.dlq`. */
function topicOf(options: LetterOptions): string {
  if (!isReader(options)) return deadLetterTopic(groupOf(options));
  if (options.group && options.group !== READER) {
    throw new CliError(
      'the cdc-reader has no consumer group: its dead letters are on CDC_DLQ_TOPIC (default _pipeline.cdc.dlq); leave out --group',
    );
  }
  return cliEnv().CDC_DLQ_TOPIC;
}

/** Where a letter's event came from: a position in its topic, or (the reader's letters, which never reached one) its commit LSN. */
const sourceOf = (letter: DeadLetter): string =>
  letter.originalPartition < 0
    ? `LSN ${letter.headers[READER_DLQ_HEADERS.sourceLsn] ?? '?'}`
    : `${letter.originalPartition}:${letter.originalOffset}`;

/** "order-processor", or "order-processor (group audit)" for another consumer group of it. */
const whose = (options: LetterOptions): string =>
  groupOf(options) === options.service ? options.service : `${options.service} (group ${groupOf(options)})`;

function parseAt(at: string): { partition: number; offset: string } {
  const match = /^(\d+):(\d+)$/.exec(at);
  if (!match)
    throw new CliError(`--at expects PARTITION:OFFSET, for example 0:42 (got ${JSON.stringify(at)}); \`pipeline dlq list\` shows them`);
  return { partition: Number(match[1]), offset: String(match[2]) };
}

async function loadLetters(options: LetterOptions, pool: pg.Pool): Promise<LetterView[]> {
  const topic = topicOf(options);
  const bar = progressBar(`reading ${topic}`, !options.json);
  const kafka = cliKafka(options);
  let letters: DeadLetter[];
  try {
    letters = await readDeadLetterTopic(kafka, topic, (done, total) => bar.update(done, total));
  } finally {
    bar.stop();
  }
  const actions = await deadLetterActions(pool, options.service, groupOf(options));
  return letters.map((letter) => {
    const done = actions.get(`${letter.partition}:${letter.offset}`) ?? [];
    const last = done.at(-1);
    return { ...letter, actions: done, status: last?.action ?? 'open' };
  });
}

/** The letter at a position, or an error that says how to find one. */
async function findLetter(options: LetterOptions, pool: pg.Pool, at: { partition: number; offset: string }): Promise<LetterView> {
  const letter = (await loadLetters(options, pool)).find((l) => l.partition === at.partition && l.offset === at.offset);
  if (!letter) {
    throw new CliError(
      `no dead letter at ${at.partition}:${at.offset} for ${whose(options)}; \`pipeline dlq list ${dlqSelector(options.service, groupOf(options))} --all\` lists them`,
    );
  }
  return letter;
}

function filterOf(options: LetterOptions): DeadLetterFilter {
  return { ...(options.error ? { error: options.error } : {}), ...(options.sourceTopic ? { sourceTopic: options.sourceTopic } : {}) };
}

function summary(letter: LetterView): Record<string, unknown> {
  return {
    at: `${letter.partition}:${letter.offset}`,
    eventId: letter.eventId ?? null,
    sourceTopic: letter.originalTopic,
    sourcePosition: sourceOf(letter),
    attempts: letter.attempt,
    error: `${letter.errorCode}: ${letter.errorMessage}`,
    deadLetteredAt: new Date(letter.timestampMs).toISOString(),
    status: letter.status,
    actions: letter.actions.map((a) => ({ action: a.action, actor: a.actor, note: a.note ?? null, at: a.at?.toISOString() })),
  };
}

function withCommon(command: Command, filters: boolean): Command {
  command.requiredOption('--service <name>', 'the consumer service whose dead letters these are');
  command.option('--group <group>', "the service's consumer group, whose <group>.dlq is read (default: the service's name)");
  if (filters) {
    command.option('--error <text>', 'only letters whose error code, name or message contains this (case-insensitive)');
    command.option('--source-topic <topic>', 'only letters first read from this topic');
  }
  for (const [flags, help] of CONNECTION_OPTIONS) command.option(flags, help);
  return command.option('--json', 'print the result as JSON');
}

function listCommand(): Command {
  return withCommon(new Command('list').description('List dead letters: position, age, source topic, attempts, error, status'), true)
    .option('--all', 'include resolved letters')
    .action(async (options: LetterOptions & { all?: boolean }) => {
      await withPool(options, async (pool) => {
        const letters = (await loadLetters(options, pool)).filter(
          (l) => matchesFilter(l, filterOf(options)) && (options.all || l.status !== 'resolved'),
        );
        if (options.json) return printJson(letters.map(summary));
        if (letters.length === 0) {
          process.stdout.write(
            `no dead letters for ${whose(options)}${options.all ? '' : ' (resolved ones are hidden; --all shows them)'}\n`,
          );
          return;
        }
        const now = Date.now();
        const rows = letters.map((l) => [
          `${l.partition}:${l.offset}`,
          formatDuration(now - l.timestampMs),
          `${l.originalTopic} ${sourceOf(l)}`,
          String(l.attempt),
          `${l.errorCode}: ${l.errorMessage}`.slice(0, 80),
          l.status,
        ]);
        process.stdout.write(`${formatTable(['at', 'age', 'source', 'attempts', 'error', 'status'], rows)}\n`);
      });
    });
}

function showCommand(): Command {
  return withCommon(
    new Command('show').description(
      "One dead letter: headers, the decoded envelope (the cdc-reader's: the change it could not encode, or what was left out of one too large), the error with its stack",
    ),
    false,
  )
    .requiredOption('--at <partition:offset>', 'which letter (from `pipeline dlq list`)')
    .option('--schema-topic <topic>', 'where writer schemas are published', SCHEMA_TOPIC)
    .action(async (options: LetterOptions & { at: string; schemaTopic: string }) => {
      const at = parseAt(options.at);
      await withPool(options, async (pool) => {
        const letter = await findLetter(options, pool, at);
        let envelope: unknown;
        let change: unknown;
        let decodeError: string | undefined;
        try {
          if (isReader(options)) {
            // The reader's letters hold the change as JSON: it never became an envelope.
            change = JSON.parse(letter.value?.toString('utf8') ?? 'null');
          } else {
            const resolver = new SchemaResolver({ kafka: cliKafka(options), topic: options.schemaTopic, bundled: bundledSchemas() });
            const decoded = await new EnvelopeDecoder(resolver.resolve).decodeEvent(letter.value);
            // A control record (the end of a snapshot) is shown as it is: it has no envelope.
            envelope = isSnapshotEnd(decoded) ? decoded : decoded.envelope;
          }
        } catch (error) {
          decodeError = (error as Error).message;
        }
        const view = {
          ...summary(letter),
          key: letter.key?.toString('utf8') ?? null,
          headers: letter.headers,
          errorName: letter.errorName,
          errorStack: letter.errorStack,
          ...(isReader(options) ? { change: change ?? null } : { envelope: envelope ?? null }),
          ...(decodeError
            ? {
                decodeError,
                valuePreview: letter.value?.subarray(0, 200).toString('utf8') ?? null,
                valueHex: letter.value?.subarray(0, 64).toString('hex') ?? null,
              }
            : {}),
        };
        if (options.json) return printJson(view);
        process.stdout.write(
          [
            `dead letter ${options.at} of ${whose(options)} (${letter.status})`,
            `  event       ${letter.eventId ?? '-'}`,
            `  source      ${letter.originalTopic} ${sourceOf(letter)}, ${letter.attempt} attempt(s), first failed ${new Date(letter.firstFailureAtMs).toISOString()}`,
            `  error       ${letter.errorName} ${letter.errorCode}: ${letter.errorMessage}`,
            ...letter.actions.map((a) => `  ${a.action.padEnd(11)} by ${a.actor} at ${a.at?.toISOString()}${a.note ? `: ${a.note}` : ''}`),
            'headers',
            ...Object.entries(letter.headers)
              .filter(([name]) => name !== 'pipeline-error-stack')
              .map(([name, value]) => `  ${name}: ${value}`),
            decodeError
              ? `value (does not decode: ${decodeError})\n  ${view.valuePreview}`
              : isReader(options)
                ? `${letter.errorCode === 'CHANGE_TOO_LARGE' ? 'change (too large for its topic: what was left out, never the values)' : 'change (the cdc-reader could not encode it)'}\n${JSON.stringify(change, null, 2)}`
                : `envelope\n${JSON.stringify(envelope, null, 2)}`,
            'stack',
            letter.errorStack,
            '',
          ].join('\n'),
        );
      });
    });
}

function redriveCommand(): Command {
  return withCommon(
    new Command('redrive').description(
      'Send dead letters back to their consumer group only (its <group>.redrive topic), once the cause is fixed; records who and when',
    ),
    true,
  )
    .option('--at <partition:offset...>', 'only these letters')
    .option('--dry-run', 'show what would be redriven, send nothing')
    .option('--again', 'also letters redriven before (they are skipped otherwise)')
    .option('--actor <name>', 'who is redriving (default: PIPELINE_ACTOR, else the OS user)')
    .action(async (options: LetterOptions & { at?: string[]; dryRun?: boolean; again?: boolean; actor?: string }) => {
      if (isReader(options)) {
        throw new CliError(
          "the cdc-reader's dead letters cannot be redriven: each is a change it could not encode into the event contract " +
            '(a value the row schema cannot hold), or one too large for its topic (it went without its largest values, or not at all), ' +
            'and sending the same change again fails the same way. Fix the row at the source (or raise the topic’s max.message.bytes): ' +
            'its next change carries the corrected row to every consumer (or take a new snapshot: stop the reader, `pipeline slot drop`, ' +
            'start it). Then mark the letter handled: `pipeline dlq resolve --service cdc-reader --at P:O --note "…"`',
        );
      }
      const only = options.at?.map(parseAt);
      await withPool(options, async (pool) => {
        const letters = (await loadLetters(options, pool)).filter(
          (l) =>
            matchesFilter(l, filterOf(options)) &&
            l.status !== 'resolved' &&
            (options.again || l.status !== 'redriven') &&
            (!only || only.some((a) => a.partition === l.partition && a.offset === l.offset)),
        );
        if (options.dryRun || letters.length === 0) {
          if (options.json) return printJson({ dryRun: Boolean(options.dryRun), letters: letters.map(summary) });
          process.stdout.write(
            letters.length === 0
              ? `nothing to redrive for ${whose(options)} (redriven letters need --again; resolved ones are never redriven)\n`
              : `would redrive ${letters.length} letter(s) to ${groupOf(options)}.redrive:\n${letters.map((l) => `  ${l.partition}:${l.offset} ${l.errorCode}: ${l.errorMessage}`.slice(0, 120)).join('\n')}\n`,
          );
          return;
        }
        const who = actorOf(options.actor);
        const bar = progressBar(`redriving to ${groupOf(options)}.redrive`, !options.json);
        try {
          await sendToRedrive(cliKafka(options), groupOf(options), letters, who, (done) => bar.update(done, letters.length));
        } finally {
          bar.stop();
        }
        await recordDeadLetterActions(
          pool,
          letters.map((l) => ({
            service: options.service,
            group: groupOf(options),
            partition: l.partition,
            offset: l.offset,
            action: 'redriven' as const,
            actor: who,
            ...(l.eventId ? { eventId: l.eventId } : {}),
          })),
        );
        if (options.json) return printJson({ redriven: letters.map(summary).map((s) => s.at), actor: who });
        process.stdout.write(
          `redrove ${letters.length} letter(s) to ${groupOf(options)}.redrive as ${who}; events already processed are skipped by the service's idempotency\n`,
        );
      });
    });
}

function resolveCommand(): Command {
  return withCommon(
    new Command('resolve').description('Mark a dead letter handled by a person, without redriving it; hidden from `list` after'),
    false,
  )
    .requiredOption('--at <partition:offset>', 'which letter (from `pipeline dlq list`)')
    .requiredOption('--note <text>', 'what was done about it (kept with the letter)')
    .option('--actor <name>', 'who resolves it (default: PIPELINE_ACTOR, else the OS user)')
    .action(async (options: LetterOptions & { at: string; note: string; actor?: string }) => {
      const at = parseAt(options.at);
      await withPool(options, async (pool) => {
        const letter = await findLetter(options, pool, at);
        const who = actorOf(options.actor);
        await recordDeadLetterActions(pool, [
          {
            service: options.service,
            group: groupOf(options),
            ...at,
            action: 'resolved',
            actor: who,
            note: options.note,
            ...(letter.eventId ? { eventId: letter.eventId } : {}),
          },
        ]);
        if (options.json) return printJson({ resolved: options.at, actor: who, note: options.note });
        process.stdout.write(`resolved ${options.at} of ${whose(options)} as ${who}: ${options.note}\n`);
      });
    });
}

export function dlqCommand(): Command {
  return new Command('dlq')
    .description('Inspect, redrive and resolve the dead letters of a consumer service (of one of its consumer groups with --group)')
    .addCommand(listCommand())
    .addCommand(showCommand())
    .addCommand(redriveCommand())
    .addCommand(resolveCommand());
}
