import { userInfo } from 'node:os';
import { type Env, envFields } from '@pipeline/runtime';
import { z } from 'zod';
import { CliError } from './output';

/** The environment variables the `pipeline` command reads; parsed once, here and nowhere else. */
export const cliEnvSchema = z.object({
  /** Database of every command (after --database-url). Default: the local stack's. Also: use this server, not the stack's. */
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, { error: 'expected a URL such as postgres://user:password@host:5432/database' })
    .optional(),
  /** Kafka brokers of every command (after --brokers), comma-separated host:port. Default: the local stack's. */
  KAFKA_BROKERS: z.string().min(1).optional(),
  /** Who `pipeline dlq redrive` and `resolve` record as having acted. Default: the OS user. */
  PIPELINE_ACTOR: envFields.nonEmpty().optional(),
  /** Password `pipeline migrate` (and `start`) give the reader role. Default for the local stack: pipeline_reader. */
  PIPELINE_READER_PASSWORD: envFields.nonEmpty().optional(),
  /** What `pipeline start` gives cdc-reader as DATABASE_URL. Default: the reader role on the stack's database. */
  CDC_DATABASE_URL: z.string().min(1).optional(),
  /**
   * The HTTP port of the first service `pipeline start` runs; the others take the next ones, in the
   * order of the service list (default 9101: cdc-reader 9101, order-processor 9102, …).
   */
  PIPELINE_HTTP_PORT_BASE: z.coerce.number().int().min(1).max(65_000).optional(),
  /** Key the webhook secrets are sealed with (the webhook-dispatcher's). Default for the local stack: one kept in its folder. */
  WEBHOOK_SECRETS_KEY: envFields.nonEmpty().optional(),
  /** The cdc-reader's dead-letter topic, for `pipeline dlq … --service cdc-reader`. Default _pipeline.cdc.dlq. */
  CDC_DLQ_TOPIC: z.string().min(1).default('_pipeline.cdc.dlq'),
});

export type CliEnv = z.output<typeof cliEnvSchema>;

let parsed: CliEnv | undefined;

/** The command's environment, parsed on first use; a bad value stops the command naming the variable. */
export function cliEnv(env: Env = processEnv()): CliEnv {
  if (parsed && env === processEnv()) return parsed;
  const result = cliEnvSchema.safeParse(env);
  if (!result.success) {
    const issues = result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new CliError(`invalid environment: ${issues.join('; ')}`);
  }
  if (env === processEnv()) parsed = result.data;
  return result.data;
}

/**
 * The environment as this process got it: what the command passes on to the services and
 * servers it starts (they parse their own configuration from it).
 */
export function processEnv(): Env {
  return process.env;
}

/** Who an operator's action is recorded as: --actor, else PIPELINE_ACTOR, else the OS user. */
export function actorOf(given?: string): string {
  return given ?? cliEnv().PIPELINE_ACTOR ?? userInfo().username;
}
