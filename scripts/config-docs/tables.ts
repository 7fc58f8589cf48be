import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { configTable } from '@pipeline/runtime';
import type { z } from 'zod';
import { configSchema as cdcReader } from '../../services/cdc-reader/src/config';
import { configSchema as inventoryWatcher } from '../../services/inventory-watcher/src/config';
import { configSchema as metricsProjector } from '../../services/metrics-projector/src/config';
import { configSchema as orderProcessor } from '../../services/order-processor/src/config';
import { configSchema as webhookDispatcher } from '../../services/webhook-dispatcher/src/config';

/** Each service's config schema, whose table its README carries. */
export const SERVICE_SCHEMAS: Record<string, z.ZodType> = {
  'cdc-reader': cdcReader,
  'order-processor': orderProcessor,
  'inventory-watcher': inventoryWatcher,
  'metrics-projector': metricsProjector,
  'webhook-dispatcher': webhookDispatcher,
};

export const START =
  '<!-- config-table:start (generated from the config schema by `npm run docs:config`: edit the schema, not this table) -->';
export const END = '<!-- config-table:end -->';

export function readmeOf(repoRoot: string, service: string): string {
  return join(repoRoot, 'services', service, 'README.md');
}

/** The README with its table block replaced by the schema's table. */
export function withTable(readme: string, schema: z.ZodType, file: string): string {
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error(`${file} has no ${START} … ${END} block for the configuration table`);
  return `${readme.slice(0, start + START.length)}\n\n${configTable(schema)}\n\n${readme.slice(end)}`;
}

/** A Markdown table's rows as trimmed cells, whatever its column alignment (Biome aligns them). */
export function tableRows(text: string): string[][] {
  return text
    .split('\n')
    .filter((line) => line.trim().startsWith('|') && !/^\|\s*-/.test(line.trim()))
    .map((line) =>
      line
        .trim()
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((c) => c.trim()),
    );
}

/** The rows of the README's table block and of the schema's table. */
export function compareTable(repoRoot: string, service: string): { readme: string[][]; schema: string[][] } {
  const file = readmeOf(repoRoot, service);
  const readme = readFileSync(file, 'utf8');
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  const block = start >= 0 && end > start ? readme.slice(start + START.length, end) : '';
  return { readme: tableRows(block), schema: tableRows(configTable(SERVICE_SCHEMAS[service] as z.ZodType)) };
}
