import { lastRebuilds, projectionCheckpoints, rebuildsInProgress } from '@pipeline/db';
import { Command } from 'commander';
import { CONNECTION_OPTIONS, type ConnectionOptions, cliKafka, withPool } from '../connections';
import { CliError, formatDuration, formatTable, printJson } from '../output';
import { progressBar } from '../progress';
import { runServiceTask } from '../service-job';

interface StatusOptions extends ConnectionOptions {
  json?: boolean;
}

/** What `pipeline projection status` shows of one projection on one topic. */
export interface ProjectionTopicStatus {
  projection: string;
  group: string | null;
  topic: string;
  partitions: { partition: number; applied: string; end: string | null; lag: number | null }[];
  /** Messages written to the topic and not applied yet (null when the topic is gone). */
  lag: number | null;
  updatedAt: string;
  lastRebuild: { finishedAt: string; events: number; seconds: number } | null;
  /** A rebuild running now, as it last recorded itself (every second). */
  rebuilding: { startedAt: string; done: number; total: number; updatedAt: string } | null;
}

function statusCommand(): Command {
  const command = new Command('status')
    .description(
      "Each projection's position (the last offset it applied per topic and partition, from projection_checkpoints) against the log end, and its lag",
    )
    .argument('[projection]', 'only this projection (for example sales_metrics)')
    .option('--json', 'print the result as JSON');
  for (const [flags, help] of CONNECTION_OPTIONS) command.option(flags, help);
  return command.action(async (projection: string | undefined, options: StatusOptions) => {
    const [checkpoints, rebuilds, running] = await withPool(options, (pool) =>
      Promise.all([projectionCheckpoints(pool, projection), lastRebuilds(pool), rebuildsInProgress(pool)]),
    );
    const admin = cliKafka(options).admin();
    await admin.connect();
    const statuses: ProjectionTopicStatus[] = [];
    try {
      const existing = new Set(await admin.listTopics());
      const byTopic = new Map<string, typeof checkpoints>();
      for (const checkpoint of checkpoints) {
        const key = `${checkpoint.projection}\u0000${checkpoint.topic}`;
        byTopic.set(key, [...(byTopic.get(key) ?? []), checkpoint]);
      }
      for (const rows of byTopic.values()) {
        const first = rows[0];
        if (!first) continue;
        const ends = existing.has(first.topic)
          ? new Map((await admin.fetchTopicOffsets(first.topic)).map((o) => [o.partition, o.high]))
          : undefined;
        const partitions = rows.map((row) => {
          const end = ends?.get(row.partition) ?? null;
          return {
            partition: row.partition,
            applied: row.offset,
            end,
            lag: end === null ? null : Math.max(0, Number(end) - Number(row.offset) - 1),
          };
        });
        statuses.push({
          projection: first.projection,
          group: first.group,
          topic: first.topic,
          partitions,
          lag: ends ? partitions.reduce((sum, p) => sum + (p.lag ?? 0), 0) : null,
          updatedAt: new Date(Math.max(...rows.map((row) => row.updatedAt.getTime()))).toISOString(),
          lastRebuild: (() => {
            const last = rebuilds.get(first.projection);
            return last ? { finishedAt: last.finishedAt.toISOString(), events: last.events, seconds: last.seconds } : null;
          })(),
          rebuilding: (() => {
            const now = running.find((r) => r.projection === first.projection);
            return now
              ? { startedAt: now.startedAt.toISOString(), done: now.done, total: now.total, updatedAt: now.updatedAt.toISOString() }
              : null;
          })(),
        });
      }
    } finally {
      await admin.disconnect();
    }
    if (options.json) return printJson(statuses);
    if (statuses.length === 0) {
      process.stdout.write(
        projection
          ? `projection ${projection} has applied nothing yet (no rows of it in projection_checkpoints)\n`
          : 'no projection has applied anything yet (projection_checkpoints is empty)\n',
      );
      return;
    }
    const rows = statuses.map((s) => [
      s.projection,
      s.group ?? '-',
      s.topic,
      s.partitions.map((p) => `${p.partition}:${p.applied}`).join(' '),
      s.lag === null ? 'topic gone' : String(s.lag),
      s.updatedAt,
      s.lastRebuild ? `${s.lastRebuild.finishedAt} (${s.lastRebuild.events} events)` : 'never',
      s.rebuilding
        ? `${s.rebuilding.done} of ${s.rebuilding.total} (${s.rebuilding.total > 0 ? Math.floor((100 * s.rebuilding.done) / s.rebuilding.total) : 0}%)`
        : '-',
    ]);
    process.stdout.write(
      `${formatTable(['projection', 'group', 'topic', 'applied (partition:offset)', 'lag', 'last applied', 'last rebuild', 'rebuilding'], rows)}\n`,
    );
  });
}

function rebuildCommand(): Command {
  const command = new Command('rebuild')
    .description(
      'Rebuild a service’s projection from the earliest offset into shadow tables while the live service keeps serving, then swap them in ' +
        'atomically (through the service’s own entry point: node dist/main.js rebuild). Refused when the topic may have lost messages',
    )
    .argument('<service>', 'the service whose projection it is (metrics-projector)')
    .option('--entry <file>', "the service's entry point (default: services/<service>/dist/main.js)")
    .option('--verbose', 'show the service’s log lines as it runs')
    .option('--json', 'print the outcome as JSON');
  for (const [flags, help] of CONNECTION_OPTIONS) command.option(flags, help);
  return command.action(async (service: string, options: ConnectionOptions & { entry?: string; verbose?: boolean; json?: boolean }) => {
    const bar = progressBar(`rebuilding ${service}'s projection`, !options.json && !options.verbose);
    const { code, result, stderr } = await runServiceTask({
      ...options,
      service,
      args: ['rebuild'],
      onLogLine: (line) => {
        const entry = parseLogLine(line);
        if (entry?.msg === 'rebuild progress' && typeof entry.done === 'number' && typeof entry.total === 'number') {
          bar.update(entry.done, Math.max(entry.total, entry.done));
        }
      },
    });
    bar.stop();
    if (!result || typeof result !== 'object') {
      throw new CliError(`${service} could not rebuild (exit code ${code}):\n${stderr.slice(-15).join('\n')}`, code === 0 ? 1 : code);
    }
    const outcome = result as {
      error?: string;
      projection?: string;
      events?: number;
      seconds?: number;
      eventsPerSecond?: number;
      unapplied?: number;
    };
    if (outcome.error) throw new CliError(`${service} refused to rebuild: ${outcome.error}`, code || 1);
    if (options.json) printJson(outcome);
    else {
      process.stdout.write(
        `rebuilt ${outcome.projection} from ${outcome.events} events in ${formatDuration(Math.round((outcome.seconds ?? 0) * 1000))} ` +
          `(${outcome.eventsPerSecond} events/s${outcome.unapplied ? `, ${outcome.unapplied} left out as the live projector left them` : ''}); ` +
          'the rebuilt tables are live\n',
      );
    }
    process.exitCode = code;
  });
}

function parseLogLine(line: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

export function projectionCommand(): Command {
  return new Command('projection')
    .description('Read models built from the change topics (metrics-projector’s sales_metrics)')
    .addCommand(statusCommand())
    .addCommand(rebuildCommand());
}
