import { Command } from 'commander';
import type { Admin } from 'kafkajs';
import { CONNECTION_OPTIONS, type ConnectionOptions, withAdmin, withPool } from '../connections';
import { CliError, formatTable, printJson } from '../output';

interface ReplayOptions extends ConnectionOptions {
  group: string;
  topic: string;
  earliest?: boolean;
  toDatetime?: string;
  toOffset?: string[];
  shiftBy?: string;
  execute?: boolean;
  json?: boolean;
}

export interface PartitionPlan {
  partition: number;
  /** The group's committed offset (-1: nothing committed yet). */
  current: string;
  next: string;
  low: string;
  high: string;
  /** Messages the group will read again (positive) or skip (negative) compared with now. */
  change: number;
}

const clamp = (value: bigint, low: bigint, high: bigint): bigint => (value < low ? low : value > high ? high : value);

/** Where each partition of `topic` goes for `group`: pure arithmetic over the broker's offsets. */
async function plan(admin: Admin, options: ReplayOptions): Promise<PartitionPlan[]> {
  const modes = [options.earliest, options.toDatetime, options.toOffset, options.shiftBy].filter((m) => m !== undefined);
  if (modes.length !== 1) throw new CliError('choose exactly one of --earliest, --to-datetime, --to-offset, --shift-by');
  if (!(await admin.listTopics()).includes(options.topic)) throw new CliError(`topic ${options.topic} does not exist`);
  const watermarks = await admin.fetchTopicOffsets(options.topic);
  const [committed] = await admin.fetchOffsets({ groupId: options.group, topics: [options.topic] });
  const current = new Map((committed?.partitions ?? []).map((p) => [p.partition, p.offset]));
  let byTime: Map<number, string> | undefined;
  if (options.toDatetime !== undefined) {
    const ms = Date.parse(options.toDatetime);
    if (Number.isNaN(ms))
      throw new CliError(`--to-datetime expects an ISO 8601 time such as 2026-11-29T12:00:00Z (got ${options.toDatetime})`);
    byTime = new Map((await admin.fetchTopicOffsetsByTimestamp(options.topic, ms)).map((p) => [p.partition, p.offset]));
  }
  const targets = new Map<number, bigint>();
  for (const spec of options.toOffset ?? []) {
    const match = /^(\d+):(\d+)$/.exec(spec);
    if (!match) throw new CliError(`--to-offset expects PARTITION:OFFSET, for example 0:1500 (got ${spec})`);
    targets.set(Number(match[1]), BigInt(match[2] as string));
  }
  const shift = options.shiftBy === undefined ? undefined : BigInt(options.shiftBy);
  for (const partition of targets.keys()) {
    if (!watermarks.some((w) => w.partition === partition)) throw new CliError(`topic ${options.topic} has no partition ${partition}`);
  }
  return watermarks
    .sort((a, b) => a.partition - b.partition)
    .map((w) => {
      const low = BigInt(w.low);
      const high = BigInt(w.high);
      const now = current.get(w.partition) ?? '-1';
      const from = now === '-1' ? low : BigInt(now);
      let next = from;
      if (options.earliest) next = low;
      else if (byTime) next = BigInt(byTime.get(w.partition) ?? '-1') < 0n ? high : BigInt(byTime.get(w.partition) as string);
      else if (targets.size > 0) next = targets.get(w.partition) ?? from;
      else if (shift !== undefined) next = from + shift;
      next = clamp(next, low, high);
      return { partition: w.partition, current: now, next: String(next), low: w.low, high: w.high, change: Number(from - next) };
    });
}

/** Refuses to move a group with live members, or a projection whose position lives in its checkpoints. */
async function refusals(admin: Admin, options: ReplayOptions): Promise<void> {
  const { groups } = await admin.describeGroups([options.group]);
  const group = groups[0];
  if (group && group.members.length > 0) {
    const clients = [...new Set(group.members.map((m) => `${m.clientId}@${m.clientHost}`))].join(', ');
    throw new CliError(
      `group ${options.group} has ${group.members.length} live member(s) (${clients}): stop its service first; ` +
        'a live group would overwrite the new offsets with its next commit',
    );
  }
  await withPool(options, async (pool) => {
    const { rows } = await pool.query<{ projection: string }>(
      `SELECT DISTINCT projection FROM projection_checkpoints
        WHERE consumer_group = $1 OR (projection = $1 AND topic = $2) ORDER BY projection`,
      [options.group, options.topic],
    );
    const projection = rows[0]?.projection;
    if (projection !== undefined) {
      throw new CliError(
        `group ${options.group} applies the projection ${projection}, which keeps its position in projection_checkpoints: moving its ` +
          'Kafka offsets would only make it skip what it has applied. Rebuild the projection instead: stop the service, delete its read ' +
          `model and its rows in projection_checkpoints (projection = '${projection}') in one transaction, then start it; ` +
          'a group reads from the earliest offset',
      );
    }
  });
}

export function replayCommand(): Command {
  const command = new Command('replay')
    .description('Move a consumer group’s offsets on one topic so it reads again (a dry run unless --execute)')
    .requiredOption('--group <group>', 'the consumer group (a service’s name, or CONSUMER_GROUP)')
    .requiredOption('--topic <topic>', 'the topic, for example cdc.public.orders')
    .option('--earliest', 'back to the earliest offset of each partition')
    .option('--to-datetime <iso>', 'to the first offset at or after this time, per partition')
    .option('--to-offset <partition:offset...>', 'these partitions to these offsets (others unchanged)')
    .option('--shift-by <n>', 'by n messages (negative: back), within each partition’s bounds')
    .option('--execute', 'move the offsets (without it, only the plan is printed)');
  for (const [flags, help] of CONNECTION_OPTIONS) command.option(flags, help);
  return command.option('--json', 'print the plan as JSON').action(async (options: ReplayOptions) => {
    await withAdmin(options, async (admin) => {
      const partitions = await plan(admin, options);
      // A dry run refuses too: the plan of a running group would be wrong by the time it ran.
      await refusals(admin, options);
      if (options.execute) {
        await admin.setOffsets({
          groupId: options.group,
          topic: options.topic,
          partitions: partitions.map((p) => ({ partition: p.partition, offset: p.next })),
        });
      }
      if (options.json) return printJson({ group: options.group, topic: options.topic, executed: Boolean(options.execute), partitions });
      const rows = partitions.map((p) => [String(p.partition), p.current, p.next, `${p.low}..${p.high}`, String(p.change)]);
      process.stdout.write(`${formatTable(['partition', 'current', 'new', 'offsets', 'to re-read'], rows)}\n`);
      process.stdout.write(
        options.execute
          ? `moved group ${options.group} on ${options.topic}; its next start reads from the new offsets\n`
          : 'dry run: nothing moved; add --execute to move the offsets\n',
      );
    });
  });
}
