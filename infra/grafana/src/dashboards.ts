import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { cdcDashboard } from './cdc';
import { overviewDashboard } from './overview';
import { inventoryWatcherDashboard, metricsProjectorDashboard, orderProcessorDashboard, webhookDispatcherDashboard } from './services';

/** Every provisioned dashboard, by the file it is written to in infra/grafana/dashboards. */
export function dashboards(): Record<string, Dashboard> {
  return {
    'pipeline-overview.json': overviewDashboard(),
    'pipeline-cdc.json': cdcDashboard(),
    'pipeline-order-processor.json': orderProcessorDashboard(),
    'pipeline-inventory-watcher.json': inventoryWatcherDashboard(),
    'pipeline-metrics-projector.json': metricsProjectorDashboard(),
    'pipeline-webhook-dispatcher.json': webhookDispatcherDashboard(),
  };
}

/** A dashboard file's text: what `dashboards:generate` writes and `dashboards:check` compares. */
export function dashboardText(dashboard: Dashboard): string {
  return `${JSON.stringify(dashboard, null, 2)}\n`;
}
