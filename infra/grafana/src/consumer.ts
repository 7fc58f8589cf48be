import type { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { graph, stat } from './panels';

/** The series of one consumer service's replicas the dashboard's `$instance` variable selects. */
export function selector(service: string): string {
  return `service="${service}", instance=~"$instance"`;
}

/** What every consumer service shows: throughput by outcome, latency against its target, lag, retries. */
export function withConsumerPanels(dashboard: DashboardBuilder, service: string): DashboardBuilder {
  const s = selector(service);
  return dashboard
    .withRow(new RowBuilder('Consumer'))
    .withPanel(
      stat('Replicas up', 'Replicas Prometheus scrapes that answer', 'short', [{ expr: `sum(up{job="pipeline", ${s}})`, legend: 'up' }]),
    )
    .withPanel(
      stat('Lag', 'Messages between the group’s committed offsets and the log end, from the broker', 'short', [
        { expr: `sum(max by (topic, partition) (consumer_group_lag{${s}}))`, legend: 'lag' },
      ]),
    )
    .withPanel(
      stat('Dead letters, last hour', 'Events sent to the dead-letter topic (`pipeline dlq list`)', 'short', [
        { expr: `sum(increase(consumer_events_total{${s}, outcome="dead_lettered"}[1h]))`, legend: 'dead letters' },
      ]),
    )
    .withPanel(
      stat('Latency target', 'LATENCY_TARGET_MS: the p99 the latency alert holds the service to', 's', [
        { expr: `max(consumer_event_age_target_seconds{${s}})`, legend: 'target' },
      ]),
    )
    .withPanel(
      graph('Events per second, by outcome', 'What the handlers did with each event', 'ops', [
        { expr: `sum by (outcome) (rate(consumer_events_total{${s}}[$__rate_interval]))`, legend: '{{outcome}}' },
      ]),
    )
    .withPanel(
      graph('Commit to handled', 'From the change’s commit in PostgreSQL to its handling, against the target', 's', [
        {
          expr: `histogram_quantile(0.99, sum by (le) (rate(consumer_event_age_seconds_bucket{${s}}[$__rate_interval])))`,
          legend: 'p99',
        },
        {
          expr: `histogram_quantile(0.5, sum by (le) (rate(consumer_event_age_seconds_bucket{${s}}[$__rate_interval])))`,
          legend: 'p50',
        },
        { expr: `max(consumer_event_age_target_seconds{${s}})`, legend: 'target' },
      ]),
    )
    .withPanel(
      graph('Lag by topic', 'Messages behind the log end, per source topic (from the broker on each scrape)', 'short', [
        { expr: `sum by (topic) (max by (topic, partition) (consumer_group_lag{${s}}))`, legend: '{{topic}}' },
      ]),
    )
    .withPanel(
      graph('Retries and dead letters', 'Events copied to a retry topic or to the dead-letter topic', 'short', [
        {
          expr: `sum by (outcome) (increase(consumer_events_total{${s}, outcome=~"retried|dead_lettered"}[$__rate_interval]))`,
          legend: '{{outcome}}',
        },
      ]),
    )
    .withPanel(
      graph('Handle time', 'Decoding and handling one event (one-by-one path), p99 and p50', 's', [
        { expr: `histogram_quantile(0.99, sum by (le) (rate(consumer_handle_seconds_bucket{${s}}[$__rate_interval])))`, legend: 'p99' },
        { expr: `histogram_quantile(0.5, sum by (le) (rate(consumer_handle_seconds_bucket{${s}}[$__rate_interval])))`, legend: 'p50' },
      ]),
    )
    .withPanel(
      graph('Jobs', 'Each scheduled job’s failed attempts (it retries until its next run is due)', 'short', [
        { expr: `sum by (job) (increase(job_failures_total{${s}}[$__rate_interval]))`, legend: '{{job}} failures' },
      ]),
    );
}
