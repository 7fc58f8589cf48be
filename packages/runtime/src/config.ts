import { z } from 'zod';
import { ConfigError } from './errors';
import { isSecretSetting, redactUrl } from './secrets';

/** The environment as the process received it; passed in so tests never touch `process.env`. */
export type Env = Readonly<Record<string, string | undefined>>;

/** The process's environment: read here, in the config module, and passed on from here. */
export function processEnv(): Env {
  return process.env;
}

/**
 * Parses a service's environment once, at start. A bad or missing variable stops the service with
 * a message that names each variable, what it expected and what it got.
 */
export function parseConfig<T extends z.ZodType>(service: string, schema: T, env: Env): z.output<T> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => {
    const variable = issue.path.map(String).join('.') || '(environment)';
    const raw = issue.path.length === 1 ? env[String(issue.path[0])] : undefined;
    const got = raw === undefined ? 'it is not set' : `got ${JSON.stringify(shownValue(variable, raw))}`;
    return `${variable}: ${issue.message} (${got})`;
  });
  throw new ConfigError(
    `Invalid configuration for ${service}:\n${issues.map((line) => `  - ${line}`).join('\n')}\n` +
      `Set or correct these environment variables (the service's README, "Configuration", lists each one: services/${service}/README.md) and start again.`,
    issues,
  );
}

const SECRET_NAME = /PASSWORD|SECRET|TOKEN|KEY$/i;

/** A wrong value as a configuration error may echo it: never a secret, never a URL's password. */
function shownValue(variable: string, value: string): string {
  if (SECRET_NAME.test(variable) || isSecretSetting(variable)) return '[redacted]';
  if (value.includes('://')) return redactUrl(value);
  // `user:password@host` without a scheme is not a URL, but holds credentials all the same.
  if (/:[^@\s]*@/.test(value)) return '[redacted: it looks like it holds credentials]';
  return value;
}

/** Reusable field parsers with messages that say what is expected. */
export const envFields = {
  port: (defaultPort: number) =>
    z.coerce
      .number({ error: 'expected a TCP port number' })
      .int({ error: 'expected a whole number' })
      .min(1, { error: 'expected a port between 1 and 65535' })
      .max(65535, { error: 'expected a port between 1 and 65535' })
      .default(defaultPort),
  /** A whole number above 0, and at most `max` when given (a delay so long that a date could not hold it, say). */
  positiveInt: (defaultValue: number, max?: number) =>
    z.coerce
      .number({ error: 'expected a whole number' })
      .int({ error: 'expected a whole number' })
      .positive({ error: 'expected a number greater than 0' })
      .max(max ?? Number.MAX_SAFE_INTEGER, { error: `expected at most ${max ?? Number.MAX_SAFE_INTEGER}` })
      .default(defaultValue),
  boolean: (defaultValue: boolean) =>
    z
      .enum(['true', 'false', '1', '0', 'yes', 'no'], {
        error: 'expected one of true, false, 1, 0, yes, no',
      })
      .default(defaultValue ? 'true' : 'false')
      .transform((value) => value === 'true' || value === '1' || value === 'yes'),
  logLevel: () =>
    z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
        error: 'expected one of fatal, error, warn, info, debug, trace, silent',
      })
      .default('info'),
  nonEmpty: () => z.string({ error: 'expected a value' }).min(1, { error: 'expected a non-empty value' }),
};

/** Settings every service shares: its HTTP port for /metrics, /healthz, /readyz, logging, shutdown. */
export function runtimeEnvSchema(defaults: { httpPort: number }) {
  return z.object({
    HTTP_PORT: envFields.port(defaults.httpPort).describe("Port of the service's HTTP endpoints (/metrics, /healthz, /readyz)."),
    HTTP_HOST: z.string().min(1).default('127.0.0.1').describe('Interface the HTTP endpoints bind; 0.0.0.0 inside a container.'),
    LOG_LEVEL: envFields.logLevel().describe('pino level.'),
    SHUTDOWN_TIMEOUT_MS: envFields
      .positiveInt(15_000)
      .describe('How long SIGTERM may take before the process exits anyway, in milliseconds.'),
  });
}

export type RuntimeEnv = z.output<ReturnType<typeof runtimeEnvSchema>>;
