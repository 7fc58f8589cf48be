import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import {
  type Dashboard,
  DashboardBuilder,
  DashboardCursorSync,
  MappingType,
  type Panel,
  QueryVariableBuilder,
  type RowPanel,
  type ValueMapping,
  VariableRefresh,
  VariableSort,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as StatBuilder } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TimeseriesBuilder } from '@grafana/grafana-foundation-sdk/timeseries';

/** The Prometheus datasource `provisioning/datasources/prometheus.yml` provisions, by its uid. */
export const DATASOURCE = { type: 'prometheus', uid: 'pipeline-prometheus' } as const;

/** One PromQL query of a panel and the legend of its series. */
export interface Query {
  expr: string;
  legend?: string;
}

function targets(queries: readonly Query[]): DataqueryBuilder[] {
  return queries.map((q, i) =>
    new DataqueryBuilder()
      .expr(q.expr)
      .legendFormat(q.legend ?? '__auto')
      .refId(String.fromCharCode(65 + i))
      .datasource(DATASOURCE),
  );
}

/** A graph over time. `unit` is Grafana's unit id (s, bytes, ops, short…). */
export function graph(title: string, description: string, unit: string, queries: readonly Query[], width = 12): TimeseriesBuilder {
  return new TimeseriesBuilder()
    .title(title)
    .description(description)
    .datasource(DATASOURCE)
    .unit(unit)
    .min(0)
    .span(width)
    .height(8)
    .fillOpacity(10)
    .targets(targets(queries));
}

/** One number (or one per series), its latest value. */
export function stat(
  title: string,
  description: string,
  unit: string,
  queries: readonly Query[],
  options: { width?: number; mappings?: ValueMapping[] } = {},
): StatBuilder {
  const panel = new StatBuilder()
    .title(title)
    .description(description)
    .datasource(DATASOURCE)
    .unit(unit)
    .span(options.width ?? 6)
    .height(4)
    .targets(targets(queries));
  return options.mappings ? panel.mappings(options.mappings) : panel;
}

/** Shows these values as these texts (`{ '0': 'never' }`). */
export function valueText(texts: Record<string, string>): ValueMapping[] {
  const options = Object.fromEntries(Object.entries(texts).map(([value, text], index) => [value, { text, index }]));
  return [{ type: MappingType.ValueToText, options }];
}

/** Shows 0 as `zero` and 1 as `one` (a gauge that is a flag). */
export function flag(zero: string, one: string): ValueMapping[] {
  return valueText({ '0': zero, '1': one });
}

/** A variable whose values are the `label` values of `metric`'s series. */
export function labelVariable(name: string, label: string, metric: string, title: string): QueryVariableBuilder {
  return new QueryVariableBuilder(name)
    .label(title)
    .datasource(DATASOURCE)
    .query({ query: `label_values(${metric}, ${label})`, refId: 'PrometheusVariableQueryEditor-VariableQuery', qryType: 1 })
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    .allValue('.*');
}

/** A dashboard of the pipeline: last hour, refreshed every 10 s, a shared crosshair. */
export function pipelineDashboard(uid: string, title: string, description: string): DashboardBuilder {
  return new DashboardBuilder(title)
    .uid(uid)
    .description(description)
    .tags(['pipeline'])
    .time({ from: 'now-1h', to: 'now' })
    .refresh('10s')
    .tooltip(DashboardCursorSync.Crosshair)
    .timezone('browser');
}

/** The dashboard's JSON model, every panel numbered and no field the SDK leaves undefined. */
export function finish(builder: cog.Builder<Dashboard>): Dashboard {
  const dashboard = builder.build();
  let id = 0;
  for (const panel of dashboard.panels ?? []) {
    (panel as Panel | RowPanel).id = ++id;
    for (const nested of (panel as RowPanel).panels ?? []) nested.id = ++id;
  }
  return JSON.parse(JSON.stringify(dashboard)) as Dashboard;
}
