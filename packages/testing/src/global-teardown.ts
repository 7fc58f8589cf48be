import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ComponentName } from '@pipeline/stack';
import { makeStack } from '@pipeline/stack';
import { sharedStack } from './shared-stack';

/** Stops only the parts of the stack that the global setup started; a stack that was already running stays. */
export default async function globalTeardown(): Promise<void> {
  const shared = sharedStack();
  const file = join(shared.config.dir, 'run', 'started-by-tests.json');
  if (!existsSync(file)) return;
  const started = JSON.parse(readFileSync(file, 'utf8')) as ComponentName[];
  rmSync(file, { force: true });
  if (started.length === 0 || process.env.PIPELINE_KEEP_STACK === '1') return;
  await makeStack(shared.config, started).down();
}
