import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { finishJobRun, type JobTrigger, startJobRun } from '@pipeline/db';
import { type Clock, systemClock, toPipelineError } from '@pipeline/runtime';
import { jobMetrics } from './metrics';
import type { JobHost, JobResult, JobSpec } from './types';

export function defaultReplicaName(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

export interface AttemptRequest {
  trigger: JobTrigger;
  scheduledFor: Date;
  attempt: number;
  replica: string;
  signal: AbortSignal;
}

export type AttemptOutcome =
  | { ok: true; runId: string; durationMs: number; result: JobResult }
  | { ok: false; runId: string; durationMs: number; error: string };

/** One attempt of a job: recorded in `job_runs` before and after, counted in the job's metrics. */
export async function runAttempt(host: JobHost, spec: JobSpec, request: AttemptRequest): Promise<AttemptOutcome> {
  const clock: Clock = host.clock ?? systemClock;
  const metrics = jobMetrics(host.registry, spec.name);
  const id = { service: host.service, job: spec.name };
  const logger = host.logger.child({ job: spec.name, trigger: request.trigger, scheduledFor: request.scheduledFor.toISOString() });
  const runId = await startJobRun(host.pool, { ...id, ...request, at: new Date(clock.now()) });
  const started = performance.now();
  try {
    const result =
      (await spec.run({
        ...id,
        scheduledFor: request.scheduledFor,
        trigger: request.trigger,
        attempt: request.attempt,
        signal: request.signal,
        logger,
        pool: host.pool,
      })) ?? {};
    const durationMs = performance.now() - started;
    const at = new Date(clock.now());
    await finishJobRun(host.pool, runId, {
      outcome: 'succeeded',
      at,
      ...(result.items === undefined ? {} : { items: result.items }),
      ...(result.details === undefined ? {} : { details: result.details }),
    });
    metrics.duration.observe({ job: spec.name, outcome: 'succeeded' }, durationMs / 1000);
    metrics.lastSuccess.set({ job: spec.name }, at.getTime() / 1000);
    logger.info({ attempt: request.attempt, durationMs: Math.round(durationMs), ...result }, `job ${spec.name} succeeded`);
    return { ok: true, runId, durationMs, result };
  } catch (thrown) {
    const durationMs = performance.now() - started;
    const error = toPipelineError(thrown);
    const text = `${error.code}: ${error.message}`;
    await finishJobRun(host.pool, runId, { outcome: 'failed', at: new Date(clock.now()), error: text });
    metrics.duration.observe({ job: spec.name, outcome: 'failed' }, durationMs / 1000);
    metrics.failures.inc({ job: spec.name });
    logger.warn({ attempt: request.attempt, err: error }, `job ${spec.name} failed: ${error.message}`);
    return { ok: false, runId, durationMs, error: text };
  }
}
