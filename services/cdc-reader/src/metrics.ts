import { listSubjects, OPS } from '@pipeline/schemas';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { RECONNECT_REASONS } from './backoff';

/** The reader's Prometheus series (names as an operator of Kafka and PostgreSQL would look for them). */
export function makeReaderMetrics(registry: Registry, tables: readonly string[] = listSubjects()) {
  const registers = [registry];
  const metrics = {
    events: new Counter({
      name: 'cdc_events_total',
      help: 'Change events produced, by table and op',
      labelNames: ['table', 'op'],
      registers,
    }),
    transactions: new Counter({
      name: 'cdc_transactions_total',
      help: 'Transactions whose events Kafka acknowledged and the slot confirmed',
      registers,
    }),
    snapshotRows: new Counter({
      name: 'cdc_snapshot_rows_total',
      help: 'Rows the initial snapshot read and Kafka acknowledged, by table',
      labelNames: ['table'],
      registers,
    }),
    snapshotRunning: new Gauge({ name: 'cdc_snapshot_running', help: '1 while the initial snapshot runs', registers }),
    bytes: new Counter({
      name: 'cdc_produced_bytes_total',
      help: 'Bytes of records (keys, values, headers) Kafka acknowledged',
      registers,
    }),
    commitToAck: new Histogram({
      name: 'cdc_commit_to_ack_seconds',
      help: 'From a transaction’s commit in PostgreSQL to Kafka acknowledging its last event',
      // Fine below 100 ms, where the pipeline lives, so quantiles read from it are meaningful.
      buckets: [
        0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
      ],
      registers,
    }),
    heartbeatLatency: new Histogram({
      name: 'cdc_heartbeat_latency_seconds',
      help: 'From writing a heartbeat to the WAL to the reader receiving it: the pipeline’s commit-to-produce delay when idle',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30],
      registers,
    }),
    confirmedLsn: new Gauge({ name: 'cdc_confirmed_lsn', help: 'Last LSN confirmed to the slot, as a number (bytes)', registers }),
    slotLag: new Gauge({
      name: 'cdc_slot_lag_bytes',
      help: 'WAL written since the slot’s confirmed position (pg_current_wal_lsn - confirmed_flush_lsn)',
      registers,
    }),
    slotRetained: new Gauge({
      name: 'cdc_slot_retained_wal_bytes',
      help: 'WAL the slot keeps on disk (pg_current_wal_lsn - restart_lsn)',
      registers,
    }),
    slotActive: new Gauge({ name: 'cdc_slot_active', help: '1 when a walsender streams from the slot', registers }),
    streaming: new Gauge({ name: 'cdc_streaming', help: '1 while a replication session streams', registers }),
    leader: new Gauge({ name: 'cdc_leader', help: '1 while this reader holds its slot’s leader lock; 0 for a standby', registers }),
    reconnects: new Counter({
      name: 'cdc_reconnects_total',
      help: 'Replication sessions restarted after a failure',
      labelNames: ['reason'],
      registers,
    }),
    unknownColumns: new Counter({
      name: 'cdc_unknown_columns_total',
      help: 'Columns a table has that its schema lacks (skipped; update the row schema)',
      labelNames: ['table', 'column'],
      registers,
    }),
    deadLetters: new Counter({
      name: 'cdc_dead_letters_total',
      help: 'Dead letters the reader wrote (changes it could not encode, or too large for their topic), by table',
      labelNames: ['table'],
      registers,
    }),
    tooLarge: new Counter({
      name: 'cdc_changes_too_large_total',
      help: 'Changes too large for their topic’s max.message.bytes: produced without their largest values (without_values), or not at all (not_produced)',
      labelNames: ['table', 'produced'],
      registers,
    }),
  };
  // A labelled counter has no series until its first inc(): panels and alerts would show nothing, not 0.
  for (const table of tables) {
    for (const op of OPS) metrics.events.inc({ table, op }, 0);
    metrics.snapshotRows.inc({ table }, 0);
    metrics.deadLetters.inc({ table }, 0);
    for (const produced of ['without_values', 'not_produced']) metrics.tooLarge.inc({ table, produced }, 0);
  }
  for (const reason of RECONNECT_REASONS) metrics.reconnects.inc({ reason }, 0);
  return metrics;
}

export type ReaderMetrics = ReturnType<typeof makeReaderMetrics>;
