import { spawn, spawnSync } from 'node:child_process';
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

/**
 * `runPipeline` without blocking this process (a test that keeps writing while the command runs,
 * or serves what the command talks to). `exactEnv`: run with `env` alone, not added to this process's.
 */
export function runPipelineAsync(
  args: readonly string[],
  env: Record<string, string | undefined> = {},
  options: { exactEnv?: boolean } = {},
): Promise<CliResult> {
  const repoRoot = sharedStack().config.repoRoot;
  const child = spawn(join(repoRoot, 'node_modules', '.bin', 'pipeline'), [...args], {
    cwd: repoRoot,
    env: options.exactEnv ? env : { ...process.env, ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => {
    stdout += String(chunk);
  });
  child.stderr.on('data', (chunk) => {
    stderr += String(chunk);
  });
  child.stdin.end();
  return new Promise((resolve) => child.on('close', (status) => resolve({ status, stdout, stderr })));
}
