import { registerJob } from '@pipeline/db';
import { systemClock } from '@pipeline/runtime';
import { defaultReplicaName, runAttempt } from './attempt';
import { makeSchedule } from './schedule';
import type { JobHost, JobSpec } from './types';

/** What `node dist/main.js run-job NAME` prints (one JSON line) and `pipeline jobs run` shows. */
export interface ManualRunResult {
  service: string;
  job: string;
  trigger: 'manual';
  outcome: 'succeeded' | 'failed';
  runId: string;
  startedAt: string;
  durationMs: number;
  items?: number;
  details?: Record<string, unknown>;
  error?: string;
}

/**
 * Runs a job once, now, as a `manual` run: recorded in `job_runs`, never retried, and it takes no
 * occurrence's claim, so the scheduled run still happens when due.
 */
export async function runJobNow(
  host: JobHost,
  spec: JobSpec,
  signal: AbortSignal = new AbortController().signal,
): Promise<ManualRunResult> {
  makeSchedule(spec.cron, spec.timeZone);
  const clock = host.clock ?? systemClock;
  const startedAt = new Date(clock.now());
  await registerJob(host.pool, { service: host.service, name: spec.name, cron: spec.cron, timeZone: spec.timeZone, at: startedAt });
  const outcome = await runAttempt(host, spec, {
    trigger: 'manual',
    scheduledFor: startedAt,
    attempt: 1,
    replica: host.replica ?? defaultReplicaName(),
    signal,
  });
  const base = {
    service: host.service,
    job: spec.name,
    trigger: 'manual' as const,
    runId: outcome.runId,
    startedAt: startedAt.toISOString(),
    durationMs: Math.round(outcome.durationMs),
  };
  return outcome.ok
    ? {
        ...base,
        outcome: 'succeeded',
        ...(outcome.result.items === undefined ? {} : { items: outcome.result.items }),
        ...(outcome.result.details === undefined ? {} : { details: outcome.result.details }),
      }
    : { ...base, outcome: 'failed', error: outcome.error };
}
