import { connectBackends } from '@pipeline/backends';
import type { ServiceContext, StartedService } from '@pipeline/runtime';
import { type Config, SERVICE } from './config';

/** Skeleton: holds its connections and reports readiness; streaming from the replication slot arrives with the cdc-reader issues. */
export async function start({ config, logger }: ServiceContext<Config>): Promise<StartedService> {
  const backends = connectBackends(SERVICE, config, logger);
  return { readinessChecks: backends.readinessChecks, stop: () => backends.close() };
}
