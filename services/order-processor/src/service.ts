import { connectBackends } from '@pipeline/kit';
import type { ServiceContext, StartedService } from '@pipeline/runtime';
import { type Config, SERVICE } from './config';

/** Skeleton: holds its connections and reports readiness; event handling arrives with the consumer runtime. */
export async function start({ config, logger }: ServiceContext<Config>): Promise<StartedService> {
  const backends = connectBackends(SERVICE, config, logger);
  return { readinessChecks: backends.readinessChecks, stop: () => backends.close() };
}
