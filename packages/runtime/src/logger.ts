import pino, { type Logger } from 'pino';
import { processSecrets, redactSecretKeys, type SecretScrubber } from './secrets';

export type { Logger } from 'pino';

/**
 * Paths pino replaces with "[redacted]" wherever they appear in a log line: connection strings and
 * credentials must never reach a log aggregator. Deeper keys are redacted by redactSecretKeys, and
 * every secret value this process knows is scrubbed from the written line (SecretScrubber).
 */
export const REDACTED_PATHS = [
  'password',
  '*.password',
  '*.*.password',
  'sasl',
  '*.sasl',
  'secret',
  '*.secret',
  'secretAccessKey',
  '*.secretAccessKey',
  'connectionString',
  '*.connectionString',
  'databaseUrl',
  '*.databaseUrl',
  'DATABASE_URL',
  '*.DATABASE_URL',
  'KAFKA_SASL_PASSWORD',
  '*.KAFKA_SASL_PASSWORD',
  'headers.authorization',
  '*.headers.authorization',
];

export interface LoggerOptions {
  service: string;
  level: string;
  /** Where lines go; defaults to stdout. Tests pass a stream to read them back. */
  destination?: pino.DestinationStream;
  /** The secret values scrubbed from every line; default: this process's (processSecrets). */
  secrets?: SecretScrubber;
}

/**
 * JSON lines, one per event, with the service name and secrets redacted: secret keys at any depth,
 * and every secret value the process knows (and any URL's password) scrubbed from the line as
 * written, messages and error stacks included.
 */
export function makeLogger(options: LoggerOptions): Logger {
  const secrets = options.secrets ?? processSecrets;
  return pino(
    {
      level: options.level,
      base: { service: options.service },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }), log: (object) => redactSecretKeys(object) },
      hooks: { streamWrite: (line) => secrets.scrub(line) },
    },
    options.destination ?? pino.destination({ sync: false }),
  );
}
