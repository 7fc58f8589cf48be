import type { Registry } from 'prom-client';
import type { z } from 'zod';
import { type Env, parseConfig, type RuntimeEnv } from './config';
import { type HttpEndpoints, type ReadinessCheck, startHttpEndpoints } from './health';
import { type RunningService, runService } from './lifecycle';
import { type Logger, makeLogger } from './logger';
import { makeMetricsRegistry } from './metrics';

/** What a service's own start function receives: parsed config and the shared runtime pieces. */
export interface ServiceContext<C> {
  config: C;
  logger: Logger;
  registry: Registry;
}

/** What a service's start function returns. */
export interface StartedService extends RunningService {
  /** Dependencies /readyz checks (database, Kafka, …). */
  readinessChecks?: Record<string, ReadinessCheck>;
}

export interface ServiceDefinition<S extends z.ZodType> {
  name: string;
  /** The service's zod schema; must include the runtime fields (runtimeEnvSchema). */
  configSchema: S;
  start: (context: ServiceContext<z.output<S>>) => Promise<StartedService>;
}

/**
 * The common main(): parse config once, log JSON, serve /healthz /readyz /metrics, start, and
 * stop within SHUTDOWN_TIMEOUT_MS on SIGTERM (draining readiness first).
 */
export function main<S extends z.ZodType>(definition: ServiceDefinition<S>, env: Env = process.env): Promise<void> {
  return runService({
    service: definition.name,
    start: async () => {
      const config = parseConfig(definition.name, definition.configSchema, env) as z.output<S> & RuntimeEnv;
      const logger = makeLogger({ service: definition.name, level: config.LOG_LEVEL });
      const registry = makeMetricsRegistry(definition.name);
      const service = await definition.start({ config, logger, registry });
      let endpoints: HttpEndpoints;
      try {
        endpoints = await startHttpEndpoints({
          host: config.HTTP_HOST,
          port: config.HTTP_PORT,
          registry,
          logger,
          ...(service.readinessChecks ? { readinessChecks: service.readinessChecks } : {}),
        });
      } catch (error) {
        await service.stop();
        throw error;
      }
      endpoints.markStarted();
      logger.info({ httpPort: endpoints.port }, `${definition.name} started`);
      return {
        logger,
        shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
        running: {
          stop: async () => {
            endpoints.markDraining();
            try {
              await service.stop();
            } finally {
              await endpoints.close();
            }
          },
        },
      };
    },
  });
}
