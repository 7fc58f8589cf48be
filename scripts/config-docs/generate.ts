// Writes each service README's configuration table from its config schema (`npm run docs:config`);
// with --check, fails when a README's table says something else (`npm run docs:config:check`).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { compareTable, readmeOf, SERVICE_SCHEMAS, withTable } from './tables';

const repoRoot = join(__dirname, '..', '..');
const check = process.argv.includes('--check');
const stale: string[] = [];
for (const [service, schema] of Object.entries(SERVICE_SCHEMAS)) {
  const file = readmeOf(repoRoot, service);
  if (check) {
    const { readme, schema: expected } = compareTable(repoRoot, service);
    if (!isDeepStrictEqual(readme, expected)) stale.push(`services/${service}/README.md`);
    continue;
  }
  writeFileSync(file, withTable(readFileSync(file, 'utf8'), schema, file));
  process.stdout.write(`wrote the configuration table of services/${service}/README.md\n`);
}
if (stale.length > 0) {
  process.stderr.write(`${stale.join(', ')}: the configuration table differs from the config schema: run npm run docs:config\n`);
  process.exit(1);
}
