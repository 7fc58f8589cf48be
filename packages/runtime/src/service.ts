import type pino from 'pino';
import type { Registry } from 'prom-client';
import type { z } from 'zod';
import { type Env, parseConfig, processEnv, type RuntimeEnv } from './config';
import { UnrecoverableError } from './errors';
import { type HttpRoute, type ReadinessCheck, startHttpEndpoints } from './health';
import { EXIT_CODES, type RunningService, runService } from './lifecycle';
import { type Logger, makeLogger } from './logger';
import { makeMetricsRegistry } from './metrics';
import { processSecrets } from './secrets';
import { parseEntryArgs, runTask, type TaskOutcome, type TaskRequest } from './task';

/** What a service's own start function receives: parsed config and the shared runtime pieces. */
export interface ServiceContext<C> {
  config: C;
  logger: Logger;
  registry: Registry;
  /**
   * Set when the entry point was started for one task (`node dist/main.js run-job NAME`) rather
   * than to serve: the service does that task, reports it in `StartedService.task`, and consumes nothing.
   */
  task?: TaskRequest;
  /**
   * The service cannot go on (its Kafka consumer crashed for good, say): logs `message` with the
   * error, turns /readyz to 503 with the reason, stops the service and exits 1, so whatever
   * supervises it restarts it; with an UnrecoverableError it exits 78, so a supervisor gives up
   * on it instead. Safe to call more than once.
   */
  fatal(error: unknown, message: string): void;
}

/** What a service's start function returns. */
export interface StartedService extends RunningService {
  /** Dependencies /readyz checks (database, Kafka, the consumer's own state …). */
  readinessChecks?: Record<string, ReadinessCheck>;
  /** The service's own GET endpoints on HTTP_PORT, served once it has started. */
  httpRoutes?: readonly HttpRoute[];
  /** In task mode: the task's outcome. A service that cannot do the task leaves it unset. */
  task?: Promise<TaskOutcome>;
}

export interface ServiceDefinition<S extends z.ZodType> {
  name: string;
  /** The service's zod schema; must include the runtime fields (runtimeEnvSchema). */
  configSchema: S;
  start: (context: ServiceContext<z.output<S>>) => Promise<StartedService>;
}

/** What a test injects in place of the real process. */
export interface MainIo {
  /** Arguments after the script (default `process.argv.slice(2)`). */
  argv?: readonly string[];
  proc?: Pick<NodeJS.Process, 'on' | 'exit'>;
  writeError?: (text: string) => void;
  writeResult?: (text: string) => void;
  logDestination?: pino.DestinationStream;
}

/**
 * The common main(). Without arguments it serves: parse config once, bind /healthz /readyz
 * /metrics, start, and stop within SHUTDOWN_TIMEOUT_MS on SIGTERM (draining readiness first) or
 * when the service reports a fatal error. With a task (`run-job NAME`) it does that task once,
 * prints its outcome as one JSON line on stdout (logs go to stderr) and exits with it.
 */
export function main<S extends z.ZodType>(definition: ServiceDefinition<S>, env: Env = processEnv(), given: MainIo = {}): Promise<void> {
  // Every secret setting's value is known before anything can be logged or printed: none ever is.
  processSecrets.addSettings(env);
  const writeError = given.writeError ?? ((text: string) => process.stderr.write(`${text}\n`));
  const io: MainIo = { ...given, writeError: (text) => writeError(processSecrets.scrub(text)) };
  const args = parseEntryArgs(io.argv ?? process.argv.slice(2));
  if (args.kind === 'task') return runTask(definition, env, args.task, io);
  if (args.kind === 'usage') {
    io.writeError?.(args.message);
    (io.proc ?? process).exit(64);
    return Promise.resolve();
  }
  return runService({
    service: definition.name,
    ...(io.proc ? { proc: io.proc } : {}),
    ...(io.writeError ? { writeError: io.writeError } : {}),
    start: async (exitFatally) => {
      const config = parseConfig(definition.name, definition.configSchema, env) as z.output<S> & RuntimeEnv;
      const logger = makeLogger({
        service: definition.name,
        level: config.LOG_LEVEL,
        ...(io.logDestination ? { destination: io.logDestination } : {}),
      });
      const registry = makeMetricsRegistry(definition.name);
      // Bound first: a busy port stops the service before it connects to anything, and /readyz says "starting" meanwhile.
      const endpoints = await startHttpEndpoints({ host: config.HTTP_HOST, port: config.HTTP_PORT, registry, logger });
      let failed = false;
      const fatal = (error: unknown, message: string): void => {
        if (failed) return;
        failed = true;
        if (error instanceof UnrecoverableError) {
          logger.fatal(
            { err: error },
            `${message}; exiting with code ${EXIT_CODES.config}: restarting cannot fix this, so a supervisor should not`,
          );
          endpoints.markFailed(message);
          exitFatally(EXIT_CODES.config);
          return;
        }
        logger.error({ err: error }, `${message}; exiting with code 1 so that whatever supervises the service restarts it`);
        endpoints.markFailed(message);
        exitFatally(EXIT_CODES.failed);
      };
      let service: StartedService;
      try {
        service = await definition.start({ config, logger, registry, fatal });
      } catch (error) {
        await endpoints.close();
        throw error;
      }
      endpoints.markStarted(service.readinessChecks, service.httpRoutes);
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
