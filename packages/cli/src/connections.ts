import { makeKafka } from '@pipeline/kafka';
import { makeLogger, redactUrl } from '@pipeline/runtime';
import { makeStack, stackConfigFromEnv } from '@pipeline/stack';
import { type Admin, type Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { cliEnv } from './env';
import { CliError } from './output';

export interface ConnectionOptions {
  databaseUrl?: string;
  brokers?: string;
}

/** --database-url, else DATABASE_URL, else the local stack's database. */
export function databaseUrlOf(options: ConnectionOptions): string {
  return options.databaseUrl ?? cliEnv().DATABASE_URL ?? makeStack(stackConfigFromEnv()).endpoints.databaseUrl;
}

/** --brokers, else KAFKA_BROKERS, else the local stack's broker. */
export function brokersOf(options: ConnectionOptions): string[] {
  const list = options.brokers ?? cliEnv().KAFKA_BROKERS;
  return list ? list.split(',').map((b) => b.trim()) : makeStack(stackConfigFromEnv()).endpoints.kafkaBrokers;
}

export function cliKafka(options: ConnectionOptions): Kafka {
  return makeKafka(
    { clientId: 'pipeline-cli', brokers: brokersOf(options), connectionTimeout: 5_000, retry: { retries: 3 } },
    makeLogger({ service: 'pipeline-cli', level: 'silent' }),
    logLevel.NOTHING,
  );
}

export async function withPool<T>(options: ConnectionOptions, work: (pool: pg.Pool) => Promise<T>): Promise<T> {
  const url = databaseUrlOf(options);
  const pool = new pg.Pool({ connectionString: url, max: 2, application_name: 'pipeline-cli' });
  pool.on('error', () => undefined);
  try {
    await pool.query('SELECT 1').catch((error: Error) => {
      throw new CliError(`cannot connect to ${redactUrl(url)}: ${error.message}; is the database up (\`pipeline stack up\`)?`);
    });
    return await work(pool);
  } finally {
    await pool.end();
  }
}

/** Adds --database-url and --brokers to a command. */
export const CONNECTION_OPTIONS: [string, string][] = [
  ['--database-url <url>', 'database (default: DATABASE_URL, else the local stack)'],
  ['--brokers <list>', 'Kafka brokers, comma-separated host:port (default: KAFKA_BROKERS, else the local stack)'],
];

/** A connected Kafka admin for `work` (a clear error when the broker cannot be reached), disconnected after. */
export async function withAdmin<T>(options: ConnectionOptions, work: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = cliKafka(options).admin();
  await admin.connect().catch((error: Error) => {
    throw new CliError(`cannot reach Kafka: ${error.message}; is the broker up (\`pipeline stack up\`)?`);
  });
  try {
    return await work(admin);
  } finally {
    await admin.disconnect();
  }
}
