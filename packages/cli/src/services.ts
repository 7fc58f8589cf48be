import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** The deployable services, with the HTTP port each uses by default for /metrics, /healthz, /readyz. */
export const SERVICES = [
  { name: 'cdc-reader', httpPort: 9101 },
  { name: 'order-processor', httpPort: 9102 },
  { name: 'inventory-watcher', httpPort: 9103 },
  { name: 'metrics-projector', httpPort: 9104 },
] as const;

export type ServiceName = (typeof SERVICES)[number]['name'];

/** The compiled entry point of a service in this checkout. */
export function serviceEntryPoint(repoRoot: string, name: ServiceName): string {
  const entry = join(repoRoot, 'services', name, 'dist', 'main.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run \`npm run build\` (npm ci runs it too)`);
  return entry;
}
