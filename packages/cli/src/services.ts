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

/** Each service's HTTP port: its default, or the base setting (PIPELINE_HTTP_PORT_BASE) plus its place in the list. */
export function servicePorts(base: number | undefined): Map<string, number> {
  return new Map(SERVICES.map((service, i) => [service.name, base === undefined ? service.httpPort : base + i]));
}

/** The second cdc-reader `pipeline start --standby-reader` runs: it takes the slot over when the first one dies. */
export const STANDBY_READER = 'cdc-reader-standby';

/** The standby's HTTP port: the one after the last service's. */
export function standbyReaderPort(base: number | undefined): number {
  const ports = [...servicePorts(base).values()];
  return Math.max(...ports) + 1;
}
