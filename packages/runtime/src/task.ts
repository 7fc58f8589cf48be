import { parseArgs } from 'node:util';
import pino from 'pino';
import type { z } from 'zod';
import { type Env, parseConfig, type RuntimeEnv } from './config';
import { ConfigError } from './errors';
import { EXIT_CODES } from './lifecycle';
import { makeLogger } from './logger';
import { makeMetricsRegistry } from './metrics';
import type { MainIo, ServiceDefinition, StartedService } from './service';

/** A one-shot task asked of a service's entry point: `node dist/main.js run-job daily-check`. */
export interface TaskRequest {
  name: string;
  args: readonly string[];
}

/** How a task ended: `result` is printed as one JSON line on stdout; the exit code follows `ok`. */
export interface TaskOutcome {
  ok: boolean;
  result: Record<string, unknown>;
  /** Exit code when not ok. Default 1. */
  exitCode?: number;
}

export type EntryArgs = { kind: 'serve' } | { kind: 'task'; task: TaskRequest } | { kind: 'usage'; message: string };

/** No arguments: serve. `<task> [args…]`: that task. Options are refused (configuration is the environment). */
export function parseEntryArgs(argv: readonly string[]): EntryArgs {
  try {
    const { positionals } = parseArgs({ args: [...argv], allowPositionals: true, strict: true, options: {} });
    const [name, ...args] = positionals;
    return name === undefined ? { kind: 'serve' } : { kind: 'task', task: { name, args } };
  } catch (error) {
    return {
      kind: 'usage',
      message: `${(error as Error).message}\nusage: node dist/main.js            serve (configuration comes from the environment)\n       node dist/main.js run-job NAME   run one scheduled job now and exit with its outcome`,
    };
  }
}

/**
 * Task mode: the service starts with `context.task` set (it connects but consumes nothing and
 * binds no port, so it can run beside a serving replica), does the task, stops. SIGINT/SIGTERM
 * stop it early with exit 1.
 */
export async function runTask<S extends z.ZodType>(
  definition: ServiceDefinition<S>,
  env: Env,
  task: TaskRequest,
  io: MainIo,
): Promise<void> {
  const proc = io.proc ?? process;
  const writeError = io.writeError ?? ((text: string) => process.stderr.write(`${text}\n`));
  const writeResult = io.writeResult ?? ((text: string) => process.stdout.write(`${text}\n`));
  let config: z.output<S> & RuntimeEnv;
  try {
    config = parseConfig(definition.name, definition.configSchema, env) as z.output<S> & RuntimeEnv;
  } catch (error) {
    writeError((error as Error).message);
    proc.exit(error instanceof ConfigError ? EXIT_CODES.config : EXIT_CODES.failed);
    return;
  }
  // stdout carries the result line only.
  const logger = makeLogger({ service: definition.name, level: config.LOG_LEVEL, destination: io.logDestination ?? pino.destination(2) });
  let service: StartedService | undefined;
  const finish = async (code: number): Promise<void> => {
    await service?.stop().catch((error: unknown) => logger.warn({ err: error }, 'stopping after the task failed'));
    logger.flush?.();
    proc.exit(code);
  };
  const interrupt = (): void => {
    logger.warn(`${task.name} interrupted`);
    void finish(EXIT_CODES.failed);
  };
  proc.on('SIGINT', interrupt);
  proc.on('SIGTERM', interrupt);
  try {
    service = await definition.start({
      config,
      logger,
      registry: makeMetricsRegistry(definition.name),
      task,
      fatal: (error, message) => {
        logger.error({ err: error }, message);
        void finish(EXIT_CODES.failed);
      },
    });
    if (!service.task) {
      writeError(`${definition.name} has no task ${JSON.stringify(task.name)}; it knows: run-job NAME`);
      return await finish(EXIT_CODES.usage);
    }
    const outcome = await service.task;
    writeResult(JSON.stringify(outcome.result));
    return await finish(outcome.ok ? EXIT_CODES.ok : (outcome.exitCode ?? EXIT_CODES.failed));
  } catch (error) {
    writeError(`${definition.name} ${task.name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    return await finish(error instanceof ConfigError ? EXIT_CODES.config : EXIT_CODES.failed);
  }
}
