import { join } from 'node:path';
import type { StackConfig } from './config';

/** How often the stack's Prometheus scrapes the services and evaluates its rules. */
export const SCRAPE_INTERVAL_SECONDS = 5;

/** The folder of the stack's Prometheus: its configuration, scrape targets and data. */
export function prometheusHome(config: StackConfig): string {
  return join(config.dir, 'prometheus');
}

/** Where `pipeline start` lists the services it supervises (file-based service discovery). */
export function scrapeTargetsFile(config: StackConfig): string {
  return join(prometheusHome(config), 'targets', 'pipeline.json');
}

/** The alerting rules every Prometheus of the pipeline loads (`infra/prometheus/rules`). */
export function rulesGlob(repoRoot: string): string {
  return join(repoRoot, 'infra', 'prometheus', 'rules', '*.yml');
}

/**
 * The local Prometheus's configuration. JSON is YAML, so this is written as `prometheus.yml` as it
 * is. The services' series carry their own `service` label (the registry's default label), which
 * `honor_labels` keeps; a target's `service` label names it for `up` while it does not answer.
 */
export function localPrometheusConfig(config: StackConfig): Record<string, unknown> {
  const every = `${SCRAPE_INTERVAL_SECONDS}s`;
  return {
    global: { scrape_interval: every, evaluation_interval: every, scrape_timeout: '4s' },
    rule_files: [rulesGlob(config.repoRoot)],
    scrape_configs: [
      {
        job_name: 'pipeline',
        honor_labels: true,
        file_sd_configs: [{ files: [join(prometheusHome(config), 'targets', '*.json')], refresh_interval: every }],
      },
      { job_name: 'prometheus', static_configs: [{ targets: [`127.0.0.1:${config.prometheus.port}`] }] },
    ],
  };
}
