import { listJobs, type Pool, slotReports } from '@pipeline/db';
import { deadLetterTopic, groupLag } from '@pipeline/kafka';
import type { Admin } from 'kafkajs';
import { nextRun } from '../commands/jobs';

/** The whole pipeline at one moment: what `pipeline status` prints. */
export interface PipelineStatus {
  at: string;
  services: ServiceView[];
  consumerGroups: GroupView[];
  slots: SlotView[];
  deadLetters: DeadLetterView[];
  jobs: JobView[];
  throughput: ThroughputView[];
  activity: ActivityView;
}

/** What the services did, all time: orders by status, emails, reorder tasks, sales totals. */
export interface ActivityView {
  ordersByStatus: Record<string, number>;
  /** Confirmation emails SES accepted (recorded in the effects ledger). */
  emailsSent: number;
  invoices: number;
  reorderTasksOpen: number;
  reorderTasksTotal: number;
  dealsWon: number;
  dealsLost: number;
  revenueClosed: string;
}

export interface ServiceView {
  name: string;
  url: string;
  /** `ready`; `up` (answers, not ready: `reason` says why); `down` (does not answer). */
  state: 'ready' | 'up' | 'down';
  reason?: string;
}

export interface GroupView {
  group: string;
  service: string;
  /** Messages not yet committed, over every partition of the group's topics. */
  lag: number;
  partitions: { topic: string; partition: number; committed: string | null; end: string; lag: number }[];
}

export interface SlotView {
  slot: string;
  active: boolean;
  lagBytes: number | null;
  retainedBytes: number | null;
  walStatus: string | null;
}

export interface DeadLetterView {
  service: string;
  group: string;
  /** Letters in `<group>.dlq` (or the reader's topic) never redriven or resolved. */
  open: number;
  total: number;
}

export interface JobView {
  service: string;
  job: string;
  lastRunAt: string | null;
  lastOutcome: string | null;
  nextRunAt: string | null;
}

export interface ThroughputView {
  service: string;
  /** Events handled (processed or skipped) in the last `windowSeconds`, per second. */
  eventsPerSecond: number;
  handled: number;
  windowSeconds: number;
}

export interface StatusSources {
  pool: Pool;
  admin: Admin;
  /** Each service and the port of its /readyz. */
  services: { name: string; port: number }[];
  /** The reader's dead-letter topic (it has no consumer group). */
  readerDlqTopic: string;
  windowSeconds?: number;
  now?: Date;
}

const READER = 'cdc-reader';

/** Reads the status from the services' /readyz, Kafka and the database, all at once. */
export async function collectStatus(sources: StatusSources): Promise<PipelineStatus> {
  const now = sources.now ?? new Date();
  const consumers = sources.services.filter((s) => s.name !== READER).map((s) => s.name);
  const groups = await consumerGroups(sources.admin, consumers);
  const [services, consumerGroupViews, slots, deadLetters, jobs, throughput, activity] = await Promise.all([
    Promise.all(sources.services.map((service) => serviceView(service.name, service.port))),
    Promise.all(groups.map((group) => groupView(sources.admin, group))),
    slotReports(sources.pool).then((reports) =>
      reports.map((r) => ({
        slot: r.slot,
        active: r.active,
        lagBytes: r.lagBytes,
        retainedBytes: r.retainedBytes,
        walStatus: r.walStatus,
      })),
    ),
    deadLetterViews(sources, groups),
    jobViews(sources.pool, now),
    throughputViews(sources.pool, consumers, sources.windowSeconds ?? 60),
    activityView(sources.pool),
  ]);
  return { at: now.toISOString(), services, consumerGroups: consumerGroupViews, slots, deadLetters, jobs, throughput, activity };
}

async function serviceView(name: string, port: number): Promise<ServiceView> {
  const url = `http://127.0.0.1:${port}`;
  try {
    const response = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) });
    if (response.status === 200) return { name, url, state: 'ready' };
    const body = (await response.json().catch(() => ({}))) as { reason?: string; checks?: Record<string, string> };
    const failing = Object.entries(body.checks ?? {}).filter(([, check]) => check !== 'ok');
    const reason = body.reason ?? failing.map(([check, value]) => `${check}: ${value}`).join('; ');
    return { name, url, state: 'up', reason: reason || `readyz answered ${response.status}` };
  } catch {
    return { name, url, state: 'down' };
  }
}

/** Every consumer group of these services with its lag; or, given `only`, exactly those groups. */
export async function consumerLag(admin: Admin, services: string[], only?: { group: string; service: string }[]): Promise<GroupView[]> {
  return Promise.all((only ?? (await consumerGroups(admin, services))).map((group) => groupView(admin, group)));
}

/** The consumer groups of the services: a service's own name, or `<service>-…` (CONSUMER_GROUP). */
async function consumerGroups(admin: Admin, services: string[]): Promise<{ group: string; service: string }[]> {
  const { groups } = await admin.listGroups();
  const found: { group: string; service: string }[] = [];
  for (const { groupId } of groups) {
    if (groupId.endsWith('.retry')) continue;
    const service = services.find((name) => groupId === name || groupId.startsWith(`${name}-`));
    if (service) found.push({ group: groupId, service });
  }
  return found.sort((a, b) => a.group.localeCompare(b.group));
}

async function groupView(admin: Admin, { group, service }: { group: string; service: string }): Promise<GroupView> {
  const partitions = await groupLag(admin, group);
  return { group, service, lag: partitions.reduce((sum, p) => sum + p.lag, 0), partitions };
}

/** Open letters: those in the topic less those whose last action redrove or resolved them. */
async function deadLetterViews(sources: StatusSources, groups: { group: string; service: string }[]): Promise<DeadLetterView[]> {
  const targets = [{ service: READER, group: READER, topic: sources.readerDlqTopic }].concat(
    groups.map(({ group, service }) => ({ service, group, topic: deadLetterTopic(group) })),
  );
  const existing = new Set(await sources.admin.listTopics());
  const views: DeadLetterView[] = [];
  for (const target of targets) {
    if (!existing.has(target.topic)) {
      views.push({ service: target.service, group: target.group, open: 0, total: 0 });
      continue;
    }
    const offsets = await sources.admin.fetchTopicOffsets(target.topic);
    const total = offsets.reduce((sum, o) => sum + Number(o.high) - Number(o.low), 0);
    const { rows } = await sources.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM (SELECT DISTINCT dlq_partition, dlq_offset FROM dead_letter_actions
         WHERE service = $1 AND consumer_group = $2) AS closed`,
      [target.service, target.group],
    );
    views.push({ service: target.service, group: target.group, open: Math.max(0, total - (rows[0]?.n ?? 0)), total });
  }
  return views;
}

async function jobViews(pool: Pool, now: Date): Promise<JobView[]> {
  return (await listJobs(pool)).map((job) => ({
    service: job.service,
    job: job.name,
    lastRunAt: job.lastRun?.startedAt.toISOString() ?? null,
    lastOutcome: job.lastRun?.outcome ?? null,
    nextRunAt: nextRun(job, now),
  }));
}

async function throughputViews(pool: Pool, services: string[], windowSeconds: number): Promise<ThroughputView[]> {
  const { rows } = await pool.query<{ service: string; n: number }>(
    `SELECT service, count(*)::int AS n FROM event_outcomes
      WHERE service = ANY($1::text[]) AND recorded_at > now() - make_interval(secs => $2) AND outcome IN ('processed', 'skipped')
      GROUP BY service`,
    [services, windowSeconds],
  );
  const counts = new Map(rows.map((row) => [row.service, row.n]));
  return services.map((service) => {
    const handled = counts.get(service) ?? 0;
    return { service, handled, windowSeconds, eventsPerSecond: Math.round((handled / windowSeconds) * 10) / 10 };
  });
}

async function activityView(pool: Pool): Promise<ActivityView> {
  const { rows: orders } = await pool.query<{ status: string; n: number }>(
    'SELECT status, count(*)::int AS n FROM orders GROUP BY status ORDER BY status',
  );
  const { rows } = await pool.query<{
    emails: number;
    invoices: number;
    open: number;
    tasks: number;
    won: number;
    lost: number;
    revenue: string;
  }>(
    `SELECT (SELECT count(*)::int FROM effects_ledger WHERE effect = 'email:confirmation' AND status = 'recorded') AS emails,
            (SELECT count(*)::int FROM invoices WHERE stored_at IS NOT NULL) AS invoices,
            (SELECT count(*)::int FROM tasks WHERE type = 'inventory_reorder' AND status IN ('open', 'in_progress')) AS open,
            (SELECT count(*)::int FROM tasks WHERE type = 'inventory_reorder') AS tasks,
            (SELECT coalesce(sum(deals_won), 0)::int FROM sales_metrics) AS won,
            (SELECT coalesce(sum(deals_lost), 0)::int FROM sales_metrics) AS lost,
            (SELECT coalesce(sum(revenue_closed), 0)::text FROM sales_metrics) AS revenue`,
  );
  const row = rows[0];
  return {
    ordersByStatus: Object.fromEntries(orders.map((o) => [o.status, o.n])),
    emailsSent: row?.emails ?? 0,
    invoices: row?.invoices ?? 0,
    reorderTasksOpen: row?.open ?? 0,
    reorderTasksTotal: row?.tasks ?? 0,
    dealsWon: row?.won ?? 0,
    dealsLost: row?.lost ?? 0,
    revenueClosed: row?.revenue ?? '0',
  };
}
