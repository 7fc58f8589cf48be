import { RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { selector, withConsumerPanels } from './consumer';
import { finish, graph, labelVariable, pipelineDashboard, stat, valueText } from './panels';

const quantile = (q: number, metric: string, s: string, by = '') =>
  `histogram_quantile(${q}, sum by (${by ? `${by}, ` : ''}le) (rate(${metric}_bucket{${s}}[$__rate_interval])))`;

/** order-processor: orders confirmed and on hold, invoices, emails through SES. */
export function orderProcessorDashboard() {
  const s = selector('order-processor');
  const dashboard = pipelineDashboard(
    'pipeline-order-processor',
    'Service: order-processor',
    'New orders: stock reserved or the order put on hold, invoice PDF, confirmation email through SES.',
  )
    .withVariable(labelVariable('instance', 'instance', 'orders_confirmed_total', 'Replica'))
    .withRow(new RowBuilder('Orders'))
    .withPanel(
      graph('Orders per second', 'Orders confirmed, put on hold (stock short), and cancelled ones whose stock was returned', 'ops', [
        { expr: `sum(rate(orders_confirmed_total{${s}}[$__rate_interval]))`, legend: 'confirmed' },
        { expr: `sum(rate(orders_on_hold_total{${s}}[$__rate_interval]))`, legend: 'on hold' },
        { expr: `sum(rate(orders_stock_released_total{${s}}[$__rate_interval]))`, legend: 'stock released' },
      ]),
    )
    .withPanel(
      graph('Emails per second, by kind', 'Emails SES accepted', 'ops', [
        { expr: `sum by (kind) (rate(emails_sent_total{${s}}[$__rate_interval]))`, legend: '{{kind}}' },
      ]),
    )
    .withPanel(
      graph('Invoice rendering', 'Time to render one invoice PDF', 's', [
        { expr: quantile(0.99, 'invoice_render_seconds', s), legend: 'p99' },
        { expr: quantile(0.5, 'invoice_render_seconds', s), legend: 'p50' },
      ]),
    )
    .withPanel(
      graph('SES', 'SendRawEmail duration p99 by outcome; failed requests by error code', 's', [
        { expr: quantile(0.99, 'ses_request_seconds', s, 'outcome'), legend: 'p99 {{outcome}}' },
      ]),
    )
    .withPanel(
      graph('SES errors, by code', 'Throttling, MessageRejected, ServiceUnavailable, connection refused, timeouts', 'short', [
        { expr: `sum by (code) (increase(ses_errors_total{${s}}[$__rate_interval]))`, legend: '{{code}}' },
      ]),
    )
    .withPanel(
      graph('Effects ledger', 'Entries by status; claimed ones a crash left open may need `pipeline effects`', 'short', [
        { expr: `max by (status) (effects_ledger_rows{${s}})`, legend: '{{status}}' },
      ]),
    );
  return finish(withConsumerPanels(dashboard, 'order-processor'));
}

/** inventory-watcher: reorder tasks opened, escalated, closed; the daily check. */
export function inventoryWatcherDashboard() {
  const s = selector('inventory-watcher');
  const dashboard = pipelineDashboard(
    'pipeline-inventory-watcher',
    'Service: inventory-watcher',
    'Stock falling below its reorder threshold: reorder tasks and notifications, and the daily check that catches anything missed.',
  )
    .withVariable(labelVariable('instance', 'instance', 'inventory_reorder_tasks_created_total', 'Replica'))
    .withRow(new RowBuilder('Reorder tasks'))
    .withPanel(
      graph(
        'Reorder tasks opened, by source',
        'Tasks opened (each with its notification): from a change, a snapshot row or the daily check',
        'short',
        [{ expr: `sum by (source) (increase(inventory_reorder_tasks_created_total{${s}}[$__rate_interval]))`, legend: '{{source}}' }],
      ),
    )
    .withPanel(
      graph(
        'Reorder tasks escalated, closed, cancelled',
        'Made urgent (stock at zero), done (restocked), cancelled (item deleted)',
        'short',
        [
          { expr: `sum(increase(inventory_reorder_tasks_escalated_total{${s}}[$__rate_interval]))`, legend: 'escalated' },
          { expr: `sum(increase(inventory_reorder_tasks_closed_total{${s}}[$__rate_interval]))`, legend: 'closed' },
          { expr: `sum(increase(inventory_reorder_tasks_cancelled_total{${s}}[$__rate_interval]))`, legend: 'cancelled' },
        ],
      ),
    )
    .withPanel(
      stat(
        'Daily check: last success',
        'When the daily check last succeeded (scheduled or `pipeline jobs run daily-check`)',
        'dateTimeFromNow',
        [{ expr: `max(job_last_success_timestamp_seconds{${s}, job="daily-check"}) * 1000`, legend: 'last success' }],
        { width: 12, mappings: valueText({ '0': 'never' }) },
      ),
    )
    .withPanel(
      stat(
        'Daily check, last day',
        'Runs by outcome, and low items it found without an open task (crossings the watcher missed)',
        'short',
        [
          { expr: `sum by (outcome) (increase(inventory_daily_check_runs_total{${s}}[1d]))`, legend: '{{outcome}}' },
          { expr: `sum(increase(inventory_daily_check_items_found_total{${s}}[1d]))`, legend: 'items found' },
        ],
        { width: 12 },
      ),
    );
  return finish(withConsumerPanels(dashboard, 'inventory-watcher'));
}

/** metrics-projector: the projection's position, what changes did to it, batches, rebuilds. */
export function metricsProjectorDashboard() {
  const s = selector('metrics-projector');
  const dashboard = pipelineDashboard(
    'pipeline-metrics-projector',
    'Service: metrics-projector',
    'Opportunity stage changes into sales metrics: the projection’s position per partition, what each change did, batch sizes, rebuilds.',
  )
    .withVariable(labelVariable('instance', 'instance', 'projection_events_total', 'Replica'))
    .withRow(new RowBuilder('Projection'))
    .withPanel(
      graph('Projection position, by partition', 'Offset of the last message the projection applied (its checkpoint)', 'short', [
        { expr: `max by (topic, partition) (projection_position_offset{${s}})`, legend: '{{topic}} [{{partition}}]' },
      ]),
    )
    .withPanel(
      graph('Since the last change applied, by partition', 'How long ago the projection last applied a change of the partition', 's', [
        { expr: `time() - max by (partition) (projection_updated_timestamp_seconds{${s}})`, legend: 'partition {{partition}}' },
      ]),
    )
    .withPanel(
      graph(
        'Changes per second, by result',
        'moved (aggregates changed), unchanged, older (late copy), truncated, snapshot_ended, skipped (seen before)',
        'ops',
        [{ expr: `sum by (result) (rate(projection_events_total{${s}}[$__rate_interval]))`, legend: '{{result}}' }],
      ),
    )
    .withPanel(
      graph('Batches', 'Changes per batch (p50) and time to apply one batch (p99, seconds)', 'short', [
        { expr: quantile(0.5, 'consumer_batch_size', s), legend: 'batch size p50' },
        { expr: quantile(0.99, 'consumer_batch_apply_seconds', s), legend: 'apply p99 (s)' },
      ]),
    )
    .withPanel(
      stat(
        'Rebuild',
        'A `pipeline projection rebuild` in progress: events applied of those in the topic when it started',
        'short',
        [
          { expr: `max(projection_rebuild_running{${s}})`, legend: 'running' },
          { expr: `max(projection_rebuild_applied_events{${s}})`, legend: 'applied' },
          { expr: `max(projection_rebuild_target_events{${s}})`, legend: 'of' },
        ],
        { width: 12 },
      ),
    )
    .withPanel(
      stat(
        'Dropped at a snapshot’s end, last day',
        'Opportunities a new snapshot did not re-read (deleted while no slot captured changes)',
        'short',
        [{ expr: `sum(increase(projection_snapshot_dropped_total{${s}}[1d]))`, legend: 'dropped' }],
        { width: 12 },
      ),
    );
  return finish(withConsumerPanels(dashboard, 'metrics-projector'));
}

/** webhook-dispatcher: deliveries per endpoint, failures by class, latency, queue depth. */
export function webhookDispatcherDashboard() {
  const s = selector('webhook-dispatcher');
  const dashboard = pipelineDashboard(
    'pipeline-webhook-dispatcher',
    'Service: webhook-dispatcher',
    'Database webhooks: changes delivered to HTTP endpoints, signed, retried per endpoint, in order per row.',
  )
    .withVariable(labelVariable('instance', 'instance', 'webhook_attempts_total', 'Replica'))
    .withRow(new RowBuilder('Deliveries'))
    .withPanel(
      graph('Attempts per second, by verdict', 'delivered, retry (408, 429, 5xx, timeouts), disable (410), dead', 'ops', [
        { expr: `sum by (verdict) (rate(webhook_attempts_total{${s}}[$__rate_interval]))`, legend: '{{verdict}}' },
      ]),
    )
    .withPanel(
      graph('Delivered per second, by endpoint', 'Attempts an endpoint answered with 2xx', 'ops', [
        { expr: `sum by (endpoint) (rate(webhook_attempts_total{${s}, verdict="delivered"}[$__rate_interval]))`, legend: '{{endpoint}}' },
      ]),
    )
    .withPanel(
      graph('Failures, by endpoint and class', '4xx, 5xx, 429, timeout, connection (`pipeline webhooks log --failed`)', 'short', [
        { expr: `sum by (endpoint, class) (increase(webhook_failures_total{${s}}[$__rate_interval]))`, legend: '{{endpoint}} {{class}}' },
      ]),
    )
    .withPanel(
      graph('Queue depth, by endpoint', 'Deliveries waiting: due, backing off, or behind an earlier change of the same row', 'short', [
        { expr: `max by (endpoint) (webhook_queue_depth{${s}})`, legend: '{{endpoint}}' },
      ]),
    )
    .withPanel(
      graph('Request duration p99, by endpoint', 'One request, connecting included', 's', [
        { expr: quantile(0.99, 'webhook_request_seconds', s, 'endpoint'), legend: '{{endpoint}}' },
      ]),
    )
    .withPanel(
      graph('Commit to delivered p99, by endpoint', 'From the change’s commit to the endpoint’s 2xx', 's', [
        { expr: quantile(0.99, 'webhook_commit_to_delivered_seconds', s, 'endpoint'), legend: '{{endpoint}}' },
      ]),
    );
  return finish(withConsumerPanels(dashboard, 'webhook-dispatcher'));
}
