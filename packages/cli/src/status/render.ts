import { formatBytes, formatTable } from '../output';
import type { PipelineStatus } from './collect';

/** The status on one screen: services, lag, slots, dead letters, jobs, throughput. */
export function renderStatus(status: PipelineStatus): string {
  const throughput = new Map(status.throughput.map((t) => [t.service, t]));
  const open = new Map<string, number>();
  for (const letters of status.deadLetters) open.set(letters.service, (open.get(letters.service) ?? 0) + letters.open);
  const lag = new Map<string, number>();
  for (const group of status.consumerGroups) lag.set(group.service, (lag.get(group.service) ?? 0) + group.lag);
  const services = formatTable(
    ['service', 'state', 'consumer lag', 'open dead letters', 'events/s (1 min)', 'endpoint'],
    status.services.map((s) => [
      s.name,
      s.state === 'up' ? `up, not ready: ${s.reason ?? ''}`.slice(0, 60) : s.state,
      s.name === 'cdc-reader' ? '-' : String(lag.get(s.name) ?? '-'),
      String(open.get(s.name) ?? 0),
      s.name === 'cdc-reader' ? '-' : String(throughput.get(s.name)?.eventsPerSecond ?? 0),
      s.url,
    ]),
  );
  const groups =
    status.consumerGroups.length === 0
      ? '  no consumer groups yet'
      : formatTable(
          ['consumer group', 'lag', 'behind on'],
          status.consumerGroups.map((g) => [
            g.group,
            String(g.lag),
            g.partitions
              .filter((p) => p.lag > 0)
              .map((p) => `${p.topic}[${p.partition}] ${p.lag}`)
              .join(', ') || '-',
          ]),
        );
  const slots =
    status.slots.length === 0
      ? '  no replication slots'
      : formatTable(
          ['slot', 'active', 'lag', 'retained WAL', 'WAL status'],
          status.slots.map((s) => [
            s.slot,
            s.active ? 'yes' : 'no',
            formatBytes(s.lagBytes),
            formatBytes(s.retainedBytes),
            s.walStatus ?? '-',
          ]),
        );
  const jobs =
    status.jobs.length === 0
      ? '  no scheduled jobs registered'
      : formatTable(
          ['job', 'last run', 'next run'],
          status.jobs.map((j) => [
            `${j.service}/${j.job}`,
            j.lastRunAt ? `${j.lastOutcome} ${j.lastRunAt}` : 'never',
            j.nextRunAt ?? '(invalid schedule)',
          ]),
        );
  const a = status.activity;
  const activity = [
    `orders: ${
      Object.entries(a.ordersByStatus)
        .map(([state, n]) => `${n} ${state}`)
        .join(', ') || 'none'
    }; invoices ${a.invoices}; confirmation emails sent ${a.emailsSent}`,
    `reorder tasks: ${a.reorderTasksOpen} open of ${a.reorderTasksTotal}; deals won ${a.dealsWon}, lost ${a.dealsLost}, revenue closed ${a.revenueClosed}`,
  ].join('\n');
  return [`pipeline status at ${status.at}`, '', activity, '', services, '', groups, '', slots, '', jobs, ''].join('\n');
}
