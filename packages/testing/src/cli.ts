import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { sharedStack } from './shared-stack';

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the `pipeline` command as npm installed it (node_modules/.bin), from the checkout, with
 * nothing on stdin (so it never waits for a person). Without DATABASE_URL or KAFKA_BROKERS in the
 * environment it reaches the local stack, which is the shared test stack.
 */
export function runPipeline(args: readonly string[], env: Record<string, string> = {}): CliResult {
  const repoRoot = sharedStack().config.repoRoot;
  const result = spawnSync(join(repoRoot, 'node_modules', '.bin', 'pipeline'), [...args], {
    encoding: 'utf8',
    cwd: repoRoot,
    input: '',
    env: { ...process.env, ...env },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
