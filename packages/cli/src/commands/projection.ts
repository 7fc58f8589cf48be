import { projectionCheckpoints } from '@pipeline/db';
import { Command } from 'commander';
import { CONNECTION_OPTIONS, type ConnectionOptions, cliKafka, withPool } from '../connections';
import { formatTable, printJson } from '../output';

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
    const checkpoints = await withPool(options, (pool) => projectionCheckpoints(pool, projection));
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
    ]);
    process.stdout.write(`${formatTable(['projection', 'group', 'topic', 'applied (partition:offset)', 'lag', 'last applied'], rows)}\n`);
  });
}

export function projectionCommand(): Command {
  return new Command('projection')
    .description('Read models built from the change topics (metrics-projector’s sales_metrics)')
    .addCommand(statusCommand());
}
