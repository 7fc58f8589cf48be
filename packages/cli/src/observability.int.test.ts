import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeStack, scrapeTargetsFile, stackEndpoints, writeScrapeTargets } from '@pipeline/stack';
import { eventually, startServiceChild } from '@pipeline/testing';
import { PipelineRun } from './__tests__/pipeline-run';
import { PrometheusApi } from './__tests__/prometheus-api';
import { metricNames } from './__tests__/promql-names';
import { SERVICES, serviceEntryPoint } from './services';

/** The stack's scrape interval, and Grafana's $__rate_interval for it (four scrape intervals). */
const SCRAPE_INTERVAL = '5s';
const RATE_INTERVAL = '20s';

interface DashboardModel {
  title: string;
  panels: { title?: string; targets?: { expr?: string }[]; panels?: DashboardModel['panels'] }[];
  templating: { list: { name: string; query: string | { query: string } }[] };
}

/**
 * Prometheus in the local stack, the alerting rules and the Grafana dashboards, against a pipeline
 * at work: `pipeline start` with a short demo on a private stack, whose Prometheus scrapes what the
 * targets file names. Every dashboard query (each variable at each of its values) and every alert
 * expression is evaluated through Prometheus's HTTP API.
 */
describe('Prometheus, alerts and dashboards on a running pipeline', () => {
  const run = new PipelineRun('pipeline-observability-');
  let prometheus: PrometheusApi;

  beforeAll(async () => {
    await run.init();
    prometheus = new PrometheusApi(stackEndpoints(run.config).prometheusUrl);
  });
  afterEach(() => run.interrupt(), 60_000);
  afterAll(() => run.destroy(), 120_000);

  it('scrapes every service `pipeline start` runs, and every dashboard panel and alert expression evaluates to data', async () => {
    run.start(await run.env(), ['--demo-seconds', '10', '--demo-rate', '5', '--demo-seed', '5', '--status-every', '0']);
    await eventually('the demo’s summary', async () => run.lines.find((line) => line.msg === 'demo summary'), 240_000).catch(
      (error: Error) => {
        throw new Error(`${error.message}; last lines:\n${run.lastLines()}`);
      },
    );
    // The targets file names every supervised service; Prometheus scrapes each and finds it up.
    expect(JSON.parse(readFileSync(scrapeTargetsFile(run.config), 'utf8'))).toEqual(
      SERVICES.map((s) => ({ targets: [`127.0.0.1:${run.ports.get(s.name)}`], labels: { service: s.name } })),
    );
    await eventually(
      'Prometheus to have scraped every service up for 30 s',
      async () => {
        const { series } = await prometheus.query(
          'min_over_time(up{job="pipeline"}[30s]) and count_over_time(up{job="pipeline"}[30s]) >= 5',
        );
        return series.length === SERVICES.length ? series : undefined;
      },
      90_000,
    );

    const failures: string[] = [];
    const used = new Set<string>();
    for (const file of readdirSync(dashboardsDir()).filter((f) => f.endsWith('.json'))) {
      const dashboard = JSON.parse(readFileSync(join(dashboardsDir(), file), 'utf8')) as DashboardModel;
      const values = new Map<string, string[]>();
      for (const variable of dashboard.templating.list) {
        const query = typeof variable.query === 'string' ? variable.query : variable.query.query;
        const found = await variableValues(prometheus, query);
        if (found.length === 0) failures.push(`${dashboard.title}: variable $${variable.name} (${query}) has no values`);
        values.set(variable.name, found);
      }
      for (const panel of dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])])) {
        for (const { expr } of panel.targets ?? []) {
          if (!expr) continue;
          for (const name of metricNames(expr)) used.add(name);
          for (const concrete of expand(expr, values)) {
            const answer = await prometheus.query(concrete);
            if (answer.error) failures.push(`${dashboard.title} / ${panel.title} / ${concrete}: ${answer.error}`);
            else if (answer.series.length === 0) failures.push(`${dashboard.title} / ${panel.title} / ${concrete}: no series`);
          }
        }
      }
    }
    const rules = await prometheus.rules();
    expect(rules.map((r) => r.name).sort()).toEqual(
      [...readFileSync(join(run.repoRoot, 'infra', 'prometheus', 'rules', 'pipeline.yml'), 'utf8').matchAll(/- alert: (\w+)/g)]
        .map((m) => m[1])
        .sort(),
    );
    for (const rule of rules) {
      for (const name of metricNames(rule.query)) used.add(name);
      const answer = await prometheus.query(rule.query);
      if (answer.error) failures.push(`alert ${rule.name} / ${rule.query}: ${answer.error}`);
      if (rule.health === 'err') failures.push(`alert ${rule.name}: evaluation failed: ${rule.lastError}`);
    }
    const exported = await prometheus.metricNames();
    for (const name of [...used].sort()) if (!exported.has(name)) failures.push(`metric ${name} is used, but no service exports it`);
    expect(failures).toEqual([]);
  }, 420_000);

  it('stopping `pipeline start` empties its targets: with only the stack up, nothing is down', async () => {
    await run.interrupt();
    expect(JSON.parse(readFileSync(scrapeTargetsFile(run.config), 'utf8'))).toEqual([]);
    await eventually(
      'Prometheus to drop the services from its targets',
      async () => ((await prometheus.activeTargets()).some((t) => t.labels.job === 'pipeline') ? undefined : true),
      60_000,
    );
    // A scrape that met a service already stopping may have made its alert pending (never firing: it
    // must be down for 30 s); once Prometheus marks the dropped targets' series stale, none is left.
    await eventually(
      'no PipelineServiceDown alert',
      async () => ((await prometheus.alerts()).some((a) => a.labels.alertname === 'PipelineServiceDown') ? undefined : true),
      60_000,
    );
    expect((await prometheus.alerts()).filter((a) => a.labels.alertname === 'PipelineServiceDown' && a.state === 'firing')).toEqual([]);
  }, 120_000);

  it('a service in the targets file that stops answering raises its "service down" alert', async () => {
    const { databaseUrl, kafkaBrokers } = makeStack(run.config).endpoints;
    const projector = await startServiceChild(serviceEntryPoint(run.repoRoot, 'metrics-projector'), {
      DATABASE_URL: databaseUrl,
      KAFKA_BROKERS: kafkaBrokers.join(','),
    });
    writeScrapeTargets(run.config, [{ service: 'metrics-projector', port: projector.port }]);
    try {
      await eventually(
        'Prometheus to scrape the metrics-projector',
        async () => ((await prometheus.query('up{job="pipeline", service="metrics-projector"} == 1')).series.length > 0 ? true : undefined),
        60_000,
      );
      projector.process.kill('SIGKILL');
      const alert = await eventually(
        'the metrics-projector’s PipelineServiceDown alert',
        async () =>
          (await prometheus.alerts()).find(
            (a) =>
              a.labels.alertname === 'PipelineServiceDown' &&
              a.labels.instance === `127.0.0.1:${projector.port}` &&
              ['pending', 'firing'].includes(a.state),
          ),
        90_000,
      );
      expect(alert.labels).toMatchObject({ severity: 'critical', job: 'pipeline', service: 'metrics-projector' });
    } finally {
      if (projector.process.exitCode === null && projector.process.signalCode === null) projector.process.kill('SIGKILL');
      writeScrapeTargets(run.config, []);
    }
  }, 240_000);
});

function dashboardsDir(): string {
  return join(__dirname, '..', '..', '..', 'infra', 'grafana', 'dashboards');
}

/** The values of a `label_values(selector, label)` variable, from the series Prometheus holds. */
async function variableValues(prometheus: PrometheusApi, query: string): Promise<string[]> {
  const match = /^label_values\((.+),\s*(\w+)\)$/.exec(query.trim());
  if (!match) throw new Error(`a variable query this test cannot read: ${query}`);
  const [, selector, label] = match as unknown as [string, string, string];
  return [...new Set((await prometheus.series(selector)).map((labels) => labels[label]).filter((v): v is string => Boolean(v)))].sort();
}

/** The expression as Grafana sends it: its intervals, and each variable at each of its values. */
function expand(expr: string, values: Map<string, string[]>): string[] {
  let concrete = [expr.replaceAll('$__rate_interval', RATE_INTERVAL).replaceAll('$__interval', SCRAPE_INTERVAL)];
  for (const [name, options] of values) {
    const source = `\\$\\{${name}\\}|\\$${name}\\b`;
    if (!concrete.some((e) => new RegExp(source).test(e))) continue;
    const pattern = new RegExp(source, 'g');
    concrete = concrete.flatMap((e) => options.map((value) => e.replace(pattern, value)));
  }
  return concrete;
}
