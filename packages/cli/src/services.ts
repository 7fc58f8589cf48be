import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { HTTP_PORTS, type ServiceName } from '@pipeline/kit';

/** The deployable services, with the HTTP port each uses by default for /metrics, /healthz, /readyz. */
export const SERVICES = (Object.entries(HTTP_PORTS) as [ServiceName, number][]).map(([name, httpPort]) => ({ name, httpPort }));

export type { ServiceName };

/** The compiled entry point of a service in this checkout. */
export function serviceEntryPoint(repoRoot: string, name: ServiceName): string {
  const entry = join(repoRoot, 'services', name, 'dist', 'main.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run \`npm run build\` (npm ci runs it too)`);
  return entry;
}
