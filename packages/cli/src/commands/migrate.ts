import { loadMigrations, migrate, READER_ROLE, setReaderPassword } from '@pipeline/db';
import { redactUrl } from '@pipeline/runtime';
import { makeStack, stackConfigFromEnv } from '@pipeline/stack';
import { Command } from 'commander';
import pg from 'pg';
import { cliEnv } from '../env';
import { printJson } from '../output';

export interface MigrateOptions {
  databaseUrl: string;
  readerPassword?: string;
  log?: (line: string) => void;
}

/** Applies pending migrations and, when given, sets the reader role's password. */
export async function runMigrations(options: MigrateOptions): Promise<{ applied: string[]; alreadyApplied: number }> {
  const client = new pg.Client({ connectionString: options.databaseUrl, application_name: 'pipeline-migrate' });
  await client.connect().catch((error: Error) => {
    throw new Error(`cannot connect to ${redactUrl(options.databaseUrl)}: ${error.message}; is the database up (\`pipeline stack up\`)?`);
  });
  try {
    const result = await migrate(client, loadMigrations(), (m) =>
      options.log?.(`  applied ${String(m.version).padStart(4, '0')}_${m.name}`),
    );
    if (options.readerPassword) await setReaderPassword(client, options.readerPassword);
    return { applied: result.applied.map((m) => `${String(m.version).padStart(4, '0')}_${m.name}`), alreadyApplied: result.alreadyApplied };
  } finally {
    await client.end();
  }
}

export function migrateCommand(): Command {
  return new Command('migrate')
    .description('Apply pending SQL migrations in order, each in a transaction; running it again changes nothing')
    .option('--database-url <url>', 'database to migrate (default: DATABASE_URL, else the local stack)')
    .option(
      '--reader-password <password>',
      `set the password of the ${READER_ROLE} role (default: PIPELINE_READER_PASSWORD; the local stack uses "${READER_ROLE}")`,
    )
    .option('--json', 'print the result as JSON')
    .action(async (options: { databaseUrl?: string; readerPassword?: string; json?: boolean }) => {
      const local = makeStack(stackConfigFromEnv());
      const databaseUrl = options.databaseUrl ?? local.endpoints.databaseUrl;
      const env = cliEnv();
      const isLocal = !options.databaseUrl && !env.DATABASE_URL;
      const readerPassword = options.readerPassword ?? env.PIPELINE_READER_PASSWORD ?? (isLocal ? READER_ROLE : undefined);
      const log = options.json ? undefined : (line: string) => process.stdout.write(`${line}\n`);
      log?.(`migrating ${redactUrl(databaseUrl)}`);
      const result = await runMigrations({ databaseUrl, ...(readerPassword ? { readerPassword } : {}), ...(log ? { log } : {}) });
      if (options.json) return printJson(result);
      log?.(
        result.applied.length === 0
          ? `  up to date (${result.alreadyApplied} migrations)`
          : `  ${result.applied.length} applied, ${result.alreadyApplied} already there`,
      );
    });
}
