import { RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { finish, graph, labelVariable, pipelineDashboard, stat, valueText } from './panels';

const S = 'service=~"$service"';

/** The whole pipeline on one screen: what flows, how fast, how far behind, what failed. */
export function overviewDashboard() {
  return finish(
    pipelineDashboard(
      'pipeline-overview',
      'Pipeline overview',
      'Changes from the WAL through every consumer service: throughput per stage, commit-to-handled latency, lag, retries, dead letters and scheduled jobs.',
    )
      .withVariable(labelVariable('service', 'service', 'consumer_event_age_target_seconds', 'Consumer service'))
      .withRow(new RowBuilder('Services'))
      .withPanel(
        stat('Services up', 'Services Prometheus scrapes that answer, of those `pipeline start` runs', 'short', [
          { expr: 'sum(up{job="pipeline"})', legend: 'up' },
          { expr: 'count(up{job="pipeline"})', legend: 'expected' },
        ]),
      )
      .withPanel(
        stat('Lag', 'Messages the consumer groups are behind, in total', 'short', [
          { expr: `sum(max by (service, group, topic, partition) (consumer_group_lag{${S}}))`, legend: 'lag' },
        ]),
      )
      .withPanel(
        stat('Dead letters, last hour', 'Events dead-lettered by the consumers and the cdc-reader in the last hour', 'short', [
          { expr: `sum(increase(consumer_events_total{${S}, outcome="dead_lettered"}[1h]))`, legend: 'consumers' },
          { expr: 'sum(increase(cdc_dead_letters_total[1h]))', legend: 'cdc-reader' },
        ]),
      )
      .withPanel(
        stat('Slot lag', 'WAL written since the replication slot’s confirmed position', 'bytes', [
          { expr: 'max(cdc_slot_lag_bytes)', legend: 'slot lag' },
        ]),
      )
      .withPanel(graph('Service up', '1: answering its /metrics', 'short', [{ expr: 'up{job="pipeline"}', legend: '{{service}}' }], 24))
      .withRow(new RowBuilder('Flow'))
      .withPanel(
        graph('Events per second, by stage', 'Changes the cdc-reader captured, and events each consumer handled', 'ops', [
          { expr: 'sum(rate(cdc_events_total[$__rate_interval]))', legend: 'captured (cdc-reader)' },
          {
            expr: `sum by (service) (rate(consumer_events_total{${S}, outcome=~"processed|skipped"}[$__rate_interval]))`,
            legend: '{{service}}',
          },
        ]),
      )
      .withPanel(
        graph('Commit to handled, p99', 'From a change’s commit to its handling by each service; the reader’s commit to Kafka ack', 's', [
          {
            expr: `histogram_quantile(0.99, sum by (service, le) (rate(consumer_event_age_seconds_bucket{${S}}[$__rate_interval])))`,
            legend: '{{service}}',
          },
          {
            expr: 'histogram_quantile(0.99, sum by (le) (rate(cdc_commit_to_ack_seconds_bucket[$__rate_interval])))',
            legend: 'cdc-reader (commit to Kafka ack)',
          },
        ]),
      )
      .withPanel(
        graph('Consumer lag', 'Messages between each group’s committed offsets and the log end', 'short', [
          { expr: `sum by (service) (max by (service, group, topic, partition) (consumer_group_lag{${S}}))`, legend: '{{service}}' },
        ]),
      )
      .withPanel(
        graph('Retries', 'Events copied to a retry topic', 'short', [
          { expr: `sum by (service) (increase(consumer_events_total{${S}, outcome="retried"}[$__rate_interval]))`, legend: '{{service}}' },
        ]),
      )
      .withPanel(
        graph('Dead letters', 'Events sent to a dead-letter topic (`pipeline dlq list --service …`)', 'short', [
          {
            expr: `sum by (service) (increase(consumer_events_total{${S}, outcome="dead_lettered"}[$__rate_interval]))`,
            legend: '{{service}}',
          },
          { expr: 'sum(increase(cdc_dead_letters_total[$__rate_interval]))', legend: 'cdc-reader' },
        ]),
      )
      .withRow(new RowBuilder('Scheduled jobs'))
      .withPanel(
        stat(
          'Last success',
          'When each job last succeeded (its scheduled or manual run)',
          'dateTimeFromNow',
          [{ expr: `max by (service, job) (job_last_success_timestamp_seconds{${S}}) * 1000`, legend: '{{service}} {{job}}' }],
          { width: 12, mappings: valueText({ '0': 'never' }) },
        ),
      )
      .withPanel(
        graph('Job failures', 'Failed attempts of each job (it retries until its next run is due)', 'short', [
          { expr: `sum by (service, job) (increase(job_failures_total{${S}}[$__rate_interval]))`, legend: '{{service}} {{job}}' },
        ]),
      ),
  );
}
