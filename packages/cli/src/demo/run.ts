import { randomBytes } from 'node:crypto';
import type { Pool } from '@pipeline/db';
import type { Admin } from 'kafkajs';
import { SERVICES } from '../services';
import { consumerLag } from '../status/collect';
import { type DemoSummary, demoSummary } from './summary';
import { type DemoAction, DemoWorkload } from './workload';

export interface DemoOptions {
  pool: Pool;
  admin: Admin;
  sesEndpoint: string | undefined;
  /** Actions per second (each one transaction). */
  rate: number;
  durationSeconds: number;
  seed: number;
  /** How long to wait for the pipeline to finish this run's work before summing up. */
  settleTimeoutMs?: number;
  onProgress?: (done: number, total: number, action: DemoAction) => void;
  /** Told while it waits for the pipeline (what it still waits for). */
  onSettling?: (waitingFor: string) => void;
  /** The consumer groups to wait for (default: every group of the services). */
  groups?: { group: string; service: string }[];
}

/**
 * Runs the demo's traffic at `rate` for `durationSeconds`, waits until the pipeline has handled it
 * (no order of the run pending, every consumer group caught up), and sums up what it caused.
 */
export async function runDemo(options: DemoOptions): Promise<DemoSummary & { settled: boolean }> {
  const runId = randomBytes(3).toString('hex');
  const workload = new DemoWorkload(options.pool, runId, options.seed);
  await workload.setUp();
  const total = Math.max(1, Math.round(options.rate * options.durationSeconds));
  const started = Date.now();
  for (let done = 0; done < total; ) {
    const action = await workload.step();
    done++;
    options.onProgress?.(done, total, action);
    // Paced against the start, so a slow step is made up for rather than stretching the run.
    const due = started + (done / options.rate) * 1000;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
  const settled = await settle(options, workload);
  return { ...(await demoSummary(options.pool, options.sesEndpoint, runId, workload.rows)), settled };
}

async function settle(options: DemoOptions, workload: DemoWorkload): Promise<boolean> {
  const deadline = Date.now() + (options.settleTimeoutMs ?? 120_000);
  const consumers = SERVICES.filter((s) => s.name !== 'cdc-reader').map((s) => s.name);
  for (;;) {
    const { rows } = await options.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM orders WHERE id = ANY($1::uuid[]) AND status = 'pending'`,
      [workload.rows.orders],
    );
    const pending = rows[0]?.n ?? 0;
    const behind = (await consumerLag(options.admin, consumers, options.groups)).filter((group) => group.lag > 0);
    if (pending === 0 && behind.length === 0) return true;
    if (Date.now() > deadline) return false;
    options.onSettling?.(
      [pending > 0 ? `${pending} orders pending` : '', ...behind.map((g) => `${g.group} ${g.lag} behind`)].filter(Boolean).join(', '),
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
