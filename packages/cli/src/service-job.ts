import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { ManualRunResult } from '@pipeline/kit';
import { findRepoRoot } from '@pipeline/stack';
import { brokersOf, type ConnectionOptions, databaseUrlOf } from './connections';
import { cliEnv, processEnv } from './env';
import { CliError } from './output';
import { progressBar } from './progress';
import { SERVICES, type ServiceName, serviceEntryPoint } from './services';

/** The entry point of `service`: the one given, else its compiled entry in this checkout. */
export function entryOf(service: string, entry: string | undefined): string {
  if (entry) return entry;
  if (!SERVICES.some((s) => s.name === service)) {
    throw new CliError(
      `${service} is not a service of this checkout (${SERVICES.map((s) => s.name).join(', ')}): give its entry point with --entry`,
    );
  }
  return serviceEntryPoint(findRepoRoot(__dirname), service as ServiceName);
}

export interface ServiceJobRun extends ConnectionOptions {
  service: string;
  job: string;
  entry?: string;
  /** Show the service's log lines as it runs. */
  verbose?: boolean;
  /** Show a progress bar while it runs. */
  progress: boolean;
}

/**
 * Runs one scheduled job of a service now, as a manual run: the service's own entry point in job
 * mode (`node dist/main.js run-job NAME`) with the service's environment. Resolves with the run's
 * outcome and the child's exit code; a service that could not run it at all is a CliError.
 */
export async function runServiceJob(run: ServiceJobRun): Promise<{ result: ManualRunResult; exitCode: number }> {
  const entry = entryOf(run.service, run.entry);
  const brokers = run.brokers ?? cliEnv().KAFKA_BROKERS;
  const env = {
    ...processEnv(),
    DATABASE_URL: databaseUrlOf(run),
    ...(brokers ? { KAFKA_BROKERS: brokersOf(run).join(',') } : {}),
  };
  // A TypeScript entry point (a service under development) runs through tsx.
  const args = entry.endsWith('.ts') ? ['--require', 'tsx/cjs', entry, 'run-job', run.job] : [entry, 'run-job', run.job];
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const bar = progressBar(`running ${run.job} of ${run.service}`, run.progress && !run.verbose);
  bar.update(0, 1);
  const stdout: string[] = [];
  const stderr: string[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => stdout.push(line));
  createInterface({ input: child.stderr }).on('line', (line) => {
    stderr.push(line);
    if (run.verbose) process.stderr.write(`${line}\n`);
  });
  const code = await new Promise<number>((resolve) => child.on('close', (exit) => resolve(exit ?? 1)));
  bar.stop();
  // The last line is the run's outcome, or (job unknown, say) an object with only an error.
  let parsed: Partial<ManualRunResult> | undefined;
  try {
    parsed = JSON.parse(stdout.at(-1) ?? '') as Partial<ManualRunResult>;
  } catch {
    parsed = undefined;
  }
  if (!parsed?.outcome) {
    const why = parsed?.error ?? stderr.slice(-15).join('\n');
    throw new CliError(`${run.service} could not run ${run.job} (exit code ${code}):\n${why}`, code === 0 ? 1 : code);
  }
  return { result: parsed as ManualRunResult, exitCode: code };
}

export interface ServiceTaskRun extends ConnectionOptions {
  service: string;
  /** The task and its arguments, for example ['rebuild']. */
  args: string[];
  entry?: string;
  verbose?: boolean;
  /** Each log line the service writes (stderr, JSON), as it comes. */
  onLogLine?: (line: string) => void;
  /** Settings the task needs beyond the CLI's environment (the local stack's, say). */
  env?: Record<string, string>;
}

/** Runs a task of a service's entry point (`node dist/main.js <task> …`) with the service's environment: its result line, exit code and log. */
export async function runServiceTask(run: ServiceTaskRun): Promise<{ code: number; result: unknown; stderr: string[] }> {
  const entry = entryOf(run.service, run.entry);
  const brokers = run.brokers ?? cliEnv().KAFKA_BROKERS;
  const env = {
    ...processEnv(),
    ...run.env,
    DATABASE_URL: databaseUrlOf(run),
    ...(brokers ? { KAFKA_BROKERS: brokersOf(run).join(',') } : {}),
  };
  const args = entry.endsWith('.ts') ? ['--require', 'tsx/cjs', entry, ...run.args] : [entry, ...run.args];
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const stdout: string[] = [];
  const stderr: string[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => stdout.push(line));
  createInterface({ input: child.stderr }).on('line', (line) => {
    stderr.push(line);
    run.onLogLine?.(line);
    if (run.verbose) process.stderr.write(`${line}\n`);
  });
  const code = await new Promise<number>((resolve) => child.on('close', (exit) => resolve(exit ?? 1)));
  let result: unknown;
  try {
    result = JSON.parse(stdout.at(-1) ?? '');
  } catch {
    result = undefined;
  }
  return { code, result, stderr };
}
