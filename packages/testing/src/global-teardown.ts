import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ComponentName } from '@pipeline/stack';
import { makeStack } from '@pipeline/stack';
import { deleteTestTopics } from './cleanup';
import { testKafka } from './kafka';
import { sharedStack } from './shared-stack';

/** Stops only the parts of the stack that the global setup started; a stack that was already running stays. */
export default async function globalTeardown(): Promise<void> {
  const shared = sharedStack();
  // Test topics keep unlimited retention like the real ones: remove this run's (and any earlier run's).
  await deleteTestTopics(testKafka('test-teardown')).catch((error: unknown) =>
    process.stderr.write(`[global teardown] could not delete test topics: ${(error as Error).message}\n`),
  );
  const file = join(shared.config.dir, 'run', 'started-by-tests.json');
  if (!existsSync(file)) return;
  const started = JSON.parse(readFileSync(file, 'utf8')) as ComponentName[];
  rmSync(file, { force: true });
  if (started.length === 0 || process.env.PIPELINE_KEEP_STACK === '1') return;
  await makeStack(shared.config, started).down();
}
