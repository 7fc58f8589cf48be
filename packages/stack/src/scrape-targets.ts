import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { StackConfig } from './config';
import { scrapeTargetsFile } from './prometheus-config';

/** A service Prometheus scrapes: its name (the `service` label) and the loopback port of its /metrics. */
export interface ScrapeTarget {
  service: string;
  port: number;
  host?: string;
}

/** The targets file's content, one group per service (Prometheus's file_sd format). */
export function scrapeTargetGroups(targets: readonly ScrapeTarget[]): { targets: string[]; labels: Record<string, string> }[] {
  return targets.map((t) => ({ targets: [`${t.host ?? '127.0.0.1'}:${t.port}`], labels: { service: t.service } }));
}

/**
 * Replaces the stack's scrape targets (Prometheus reads the file again within a scrape interval).
 * Written whole and renamed into place, so Prometheus never reads half a file. An empty list: no
 * service is expected to run, so none is reported down.
 */
export function writeScrapeTargets(config: StackConfig, targets: readonly ScrapeTarget[]): string {
  const file = scrapeTargetsFile(config);
  mkdirSync(dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(scrapeTargetGroups(targets), null, 2)}\n`);
  renameSync(temporary, file);
  return file;
}
