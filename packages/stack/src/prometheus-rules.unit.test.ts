import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findRepoRoot, privateStackConfig } from './config';
import { localPrometheusConfig, rulesGlob } from './prometheus-config';
import { writeScrapeTargets } from './scrape-targets';

const repoRoot = findRepoRoot(__dirname);
const rules = join(repoRoot, 'infra', 'prometheus', 'rules', 'pipeline.yml');
const ruleTests = join(repoRoot, 'infra', 'prometheus', 'tests', 'pipeline.test.yml');

/** Runs promtool (Debian's `prometheus` package brings it; `.ci/run` installs it): a missing promtool fails, never skips. */
function promtool(...args: string[]): { status: number | null; output: string } {
  const result = spawnSync('promtool', args, { encoding: 'utf8' });
  if (result.error) {
    throw new Error(`promtool not found (${result.error.message}): install it with apt-get install --no-install-recommends prometheus`);
  }
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('the Prometheus configuration and alerting rules (promtool)', () => {
  it('promtool check config accepts the local stack’s configuration, its rules and a targets file `pipeline start` wrote', () => {
    const dir = mkdtempSync(join(tmpdir(), 'prometheus-config-'));
    const config = privateStackConfig(dir, { postgres: 1, kafka: 2, kafkaController: 3, ses: 4, prometheus: 19999 }, repoRoot);
    writeScrapeTargets(config, [
      { service: 'cdc-reader', port: 9100 },
      { service: 'order-processor', port: 9101 },
    ]);
    const file = join(dir, 'prometheus.yml');
    writeFileSync(file, JSON.stringify(localPrometheusConfig(config)));
    expect(localPrometheusConfig(config).rule_files).toEqual([rulesGlob(repoRoot)]);
    const checked = promtool('check', 'config', file);
    expect(checked.output).toContain('SUCCESS');
    expect(checked.output).toMatch(/SUCCESS: \d+ rules found/);
    expect(checked.status).toBe(0);
  });

  it('promtool check rules accepts every rule', () => {
    const checked = promtool('check', 'rules', rules);
    expect(checked.output).toContain('SUCCESS: 11 rules found');
    expect(checked.status).toBe(0);
  });

  it('promtool test rules passes: each alert fires when it should, with its summary, and stays quiet when it should', () => {
    const tested = promtool('test', 'rules', ruleTests);
    expect(tested.output).toContain('SUCCESS');
    expect(tested.status).toBe(0);
  });

  it('every alert has a test case that fires it, and a summary naming a pipeline command', () => {
    const names = [...readRules().matchAll(/- alert: (\w+)/g)].map((m) => m[1]);
    const tests = readText(ruleTests);
    for (const name of names)
      expect([name, tests.includes(`alertname: ${name}\n        exp_alerts:\n          - exp_labels`)]).toEqual([name, true]);
    // Each alert says what to do, with the command to run.
    const blocks = readRules()
      .split(/\n\s+- alert: /)
      .slice(1);
    for (const block of blocks) expect([block.split('\n')[0], /`npx pipeline [a-z]+/.test(block)]).toEqual([block.split('\n')[0], true]);
  });
});

function readText(file: string): string {
  return readFileSync(file, 'utf8');
}

function readRules(): string {
  return readText(rules);
}
