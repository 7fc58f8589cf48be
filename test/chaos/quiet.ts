import type { Pool } from '@pipeline/db';
import type { Kafka } from 'kafkajs';
import type { PipelineRun } from '../../packages/cli/src/__tests__/pipeline-run';
import { SERVICES, STANDBY_READER } from '../../packages/cli/src/services';
import { consumerLag } from '../../packages/cli/src/status/collect';

/** When a chaos run may begin (every service ready) and when it may be judged (the pipeline quiet). */

/** The consumer services (every service but the reader). */
export const CONSUMERS = SERVICES.map((s) => s.name).filter((name) => name !== 'cdc-reader');

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Until every consumer answers /readyz, and one of the two readers (the other waits on the leader lock). */
export async function untilReady(run: PipelineRun): Promise<void> {
  const deadline = Date.now() + 240_000;
  const isReady = async (name: string) => {
    try {
      return (await fetch(`http://127.0.0.1:${run.ports.get(name)}/readyz`, { signal: AbortSignal.timeout(2_000) })).status === 200;
    } catch {
      return false;
    }
  };
  for (;;) {
    const consumers = await Promise.all(CONSUMERS.map(isReady));
    const readers = await Promise.all(['cdc-reader', STANDBY_READER].map(isReady));
    if (consumers.every(Boolean) && readers.some(Boolean)) return;
    if (Date.now() > deadline) throw new Error(`the services did not become ready in 4 minutes:\n${run.lastLines(30)}`);
    await sleep(500);
  }
}

/** How far back the WAL position the reader must have confirmed is taken (its heartbeats come every second). */
const CONFIRM_LAG_MS = 3_000;

/**
 * Quiet: every consumer group (retry groups included) caught up, no webhook delivery pending, and
 * the reader's slot confirmed past where the WAL was a few seconds ago, twice in a row.
 */
export async function untilQuiet(pool: Pool, kafka: Kafka, timeoutMs: number, say: (line: string) => void): Promise<number | undefined> {
  const admin = kafka.admin();
  await admin.connect();
  const deadline = Date.now() + timeoutMs;
  let quietLooks = 0;
  const marks: { at: number; lsn: string }[] = [];
  let lastSaid = 0;
  try {
    while (Date.now() < deadline) {
      const waiting: string[] = [];
      try {
        const { groups } = await admin.listGroups();
        const lag = await consumerLag(
          admin,
          [],
          groups.filter((g) => !g.groupId.startsWith('_pipeline.cli.')).map((g) => ({ group: g.groupId, service: g.groupId })),
        );
        for (const group of lag) if (group.lag > 0) waiting.push(`${group.group} ${group.lag} behind`);
        const target = marks.filter((mark) => mark.at <= Date.now() - CONFIRM_LAG_MS).at(-1);
        const { rows } = await pool.query<{ pending: number; confirmed: boolean; now: string }>(
          `SELECT (SELECT count(*)::int FROM webhook_deliveries WHERE status = 'pending') AS pending,
                  (SELECT confirmed_flush_lsn >= $1::pg_lsn FROM pg_replication_slots WHERE slot_name = 'pipeline_cdc') AS confirmed,
                  pg_current_wal_lsn()::text AS now`,
          [target?.lsn ?? '0/0'],
        );
        const row = rows[0];
        if ((row?.pending ?? 0) > 0) waiting.push(`${row?.pending} webhook deliveries pending`);
        if (!row?.confirmed || target === undefined) waiting.push('the reader has not confirmed the WAL of a few seconds ago');
        if (row) marks.push({ at: Date.now(), lsn: row.now });
      } catch (error) {
        waiting.push(`could not look: ${(error as Error).message}`);
      }
      quietLooks = waiting.length === 0 ? quietLooks + 1 : 0;
      if (quietLooks >= 2) return Date.now();
      if (Date.now() - lastSaid > 10_000 && waiting.length > 0) {
        lastSaid = Date.now();
        say(`chaos: waiting for quiet: ${waiting.slice(0, 4).join(', ')}`);
      }
      await sleep(1_000);
    }
    return undefined;
  } finally {
    await admin.disconnect();
  }
}
