// Writes the provisioned dashboards (`npm run dashboards:generate`), or with --check fails when a
// committed file differs from what the sources here produce (`npm run dashboards:check`, in npm test).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dashboards, dashboardText } from './dashboards';

const dir = join(__dirname, '..', 'dashboards');
const check = process.argv.includes('--check');
const stale: string[] = [];
for (const [file, dashboard] of Object.entries(dashboards())) {
  const path = join(dir, file);
  const text = dashboardText(dashboard);
  if (check) {
    if (!existsSync(path) || readFileSync(path, 'utf8') !== text) stale.push(file);
  } else {
    writeFileSync(path, text);
    process.stdout.write(`wrote infra/grafana/dashboards/${file}\n`);
  }
}
if (stale.length > 0) {
  process.stderr.write(
    `infra/grafana/dashboards is not what infra/grafana/src produces (${stale.join(', ')}): run npm run dashboards:generate and commit the result\n`,
  );
  process.exit(1);
}
