import { RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { selector } from './consumer';
import { finish, flag, graph, labelVariable, pipelineDashboard, stat } from './panels';

/** The cdc-reader: its replication slot, what it captures, how fast Kafka acknowledges it. */
export function cdcDashboard() {
  const s = selector('cdc-reader');
  const quantile = (q: number, metric: string) => `histogram_quantile(${q}, sum by (le) (rate(${metric}_bucket{${s}}[$__rate_interval])))`;
  return finish(
    pipelineDashboard(
      'pipeline-cdc',
      'CDC: cdc-reader',
      'The replication slot (lag, retained WAL, activity, leader), the changes captured by table and operation, commit-to-ack latency and the initial snapshot.',
    )
      .withVariable(labelVariable('instance', 'instance', 'cdc_streaming{service="cdc-reader"}', 'Reader'))
      .withRow(new RowBuilder('Slot'))
      .withPanel(
        stat(
          'Leader',
          'The reader holding the slot’s leader lock; the others are standbys',
          'short',
          [{ expr: `max by (instance) (cdc_leader{${s}})`, legend: '{{instance}}' }],
          { mappings: flag('standby', 'leader') },
        ),
      )
      .withPanel(
        stat(
          'Streaming',
          'A replication session streams from the slot',
          'short',
          [{ expr: `max by (instance) (cdc_streaming{${s}})`, legend: '{{instance}}' }],
          { mappings: flag('no', 'yes') },
        ),
      )
      .withPanel(
        stat(
          'Slot active',
          'A walsender streams from the slot (pg_replication_slots.active)',
          'short',
          [{ expr: `max(cdc_slot_active{${s}})`, legend: 'active' }],
          { mappings: flag('inactive', 'active') },
        ),
      )
      .withPanel(
        stat('Retained WAL', 'WAL PostgreSQL keeps on disk for the slot', 'bytes', [
          { expr: `max(cdc_slot_retained_wal_bytes{${s}})`, legend: 'retained' },
        ]),
      )
      .withPanel(
        graph('Slot lag and retained WAL', 'WAL not yet confirmed by the reader, and WAL kept on disk for the slot', 'bytes', [
          { expr: `max(cdc_slot_lag_bytes{${s}})`, legend: 'lag (not confirmed)' },
          { expr: `max(cdc_slot_retained_wal_bytes{${s}})`, legend: 'retained WAL' },
        ]),
      )
      .withPanel(
        graph('Commit to Kafka ack', 'From a transaction’s commit to Kafka acknowledging its last event', 's', [
          { expr: quantile(0.99, 'cdc_commit_to_ack_seconds'), legend: 'p99' },
          { expr: quantile(0.5, 'cdc_commit_to_ack_seconds'), legend: 'p50' },
        ]),
      )
      .withRow(new RowBuilder('Changes'))
      .withPanel(
        graph('Events per second, by table', 'Change events produced to Kafka', 'ops', [
          { expr: `sum by (table) (rate(cdc_events_total{${s}}[$__rate_interval]))`, legend: '{{table}}' },
        ]),
      )
      .withPanel(
        graph('Events per second, by operation', 'c: insert, u: update, d: delete, r: snapshot read, t: truncate', 'ops', [
          { expr: `sum by (op) (rate(cdc_events_total{${s}}[$__rate_interval]))`, legend: '{{op}}' },
        ]),
      )
      .withPanel(
        graph(
          'Transactions and bytes',
          'Transactions confirmed to the slot per second; event bytes Kafka acknowledged per second',
          'short',
          [
            { expr: `sum(rate(cdc_transactions_total{${s}}[$__rate_interval]))`, legend: 'transactions/s' },
            { expr: `sum(rate(cdc_produced_bytes_total{${s}}[$__rate_interval]))`, legend: 'bytes/s' },
          ],
        ),
      )
      .withPanel(
        graph('Heartbeat latency', 'From writing a heartbeat to the WAL to receiving it: the delay when idle', 's', [
          { expr: quantile(0.99, 'cdc_heartbeat_latency_seconds'), legend: 'p99' },
        ]),
      )
      .withRow(new RowBuilder('Snapshot and errors'))
      .withPanel(
        graph('Snapshot rows, by table', 'Rows the initial snapshot read and Kafka acknowledged (running: 1 while it runs)', 'short', [
          { expr: `sum by (table) (cdc_snapshot_rows_total{${s}})`, legend: '{{table}}' },
          { expr: `max(cdc_snapshot_running{${s}})`, legend: 'running' },
        ]),
      )
      .withPanel(
        graph('Reconnects and dead letters', 'Replication sessions restarted, by reason; changes that could not be encoded', 'short', [
          { expr: `sum by (reason) (increase(cdc_reconnects_total{${s}}[$__rate_interval]))`, legend: 'reconnect: {{reason}}' },
          { expr: `sum by (table) (increase(cdc_dead_letters_total{${s}}[$__rate_interval]))`, legend: 'dead letter: {{table}}' },
        ]),
      ),
  );
}
