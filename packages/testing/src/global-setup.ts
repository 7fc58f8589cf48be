import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadMigrations, migrate, setReaderPassword } from '@pipeline/db';
import { testClient } from './pg';
import { sharedStack, TEMPLATE_DATABASE, TEST_READER_PASSWORD } from './shared-stack';

/**
 * Brings the shared stack up (reusing what runs), and migrates a template database that each test
 * file clones. Writes down which parts it started, so the teardown stops only those.
 */
export default async function globalSetup(): Promise<void> {
  const stack = sharedStack();
  const results = await stack.up();
  const started = results.filter((r) => !r.reused).map((r) => r.name);
  writeFileSync(join(stack.config.dir, 'run', 'started-by-tests.json'), JSON.stringify(started));
  if (started.length > 0) process.stdout.write(`\n[global setup] started ${started.join(', ')} for this test run\n`);

  const admin = testClient({ connectionString: stack.endpoints.databaseUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${TEMPLATE_DATABASE} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${TEMPLATE_DATABASE}`);
  } finally {
    await admin.end();
  }
  const url = new URL(stack.endpoints.databaseUrl);
  url.pathname = `/${TEMPLATE_DATABASE}`;
  const template = testClient({ connectionString: url.toString() });
  await template.connect();
  try {
    await migrate(template, loadMigrations());
    await setReaderPassword(template, TEST_READER_PASSWORD);
  } finally {
    await template.end();
  }
}
