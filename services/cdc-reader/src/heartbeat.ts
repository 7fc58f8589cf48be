import type { Queryable } from '@pipeline/db';

/**
 * Heartbeats: a non-transactional logical message the leader writes to the WAL every
 * CDC_HEARTBEAT_INTERVAL_MS. Once everything before it is acknowledged its position is confirmed,
 * so the slot advances while the captured tables are idle; its round trip is a latency metric.
 */

/** Prefix of the reader's heartbeat messages in the WAL (pg_logical_emit_message). */
export const HEARTBEAT_PREFIX = 'pipeline.heartbeat';

/** Writes one heartbeat, stamped with the time it was written (ms since the epoch). */
export async function writeHeartbeat(db: Queryable, nowMs: number): Promise<void> {
  await db.query('SELECT pg_logical_emit_message(false, $1, $2)', [HEARTBEAT_PREFIX, heartbeatContent(nowMs)]);
}

export function heartbeatContent(emittedAtMs: number): string {
  return JSON.stringify({ emittedAtMs });
}

interface LogicalMessage {
  prefix: string;
  transactional: boolean;
  content: Uint8Array;
}

/** A logical message of the reader's own (another prefix, or a transactional one, is somebody else's). */
export function isHeartbeat(message: LogicalMessage): boolean {
  return message.prefix === HEARTBEAT_PREFIX && !message.transactional;
}

/** When a heartbeat was written, ms; undefined for any other message, or content that is not a heartbeat's. */
export function heartbeatEmittedAt(message: LogicalMessage): number | undefined {
  if (!isHeartbeat(message)) return undefined;
  try {
    const emittedAtMs = Number((JSON.parse(Buffer.from(message.content).toString('utf8')) as { emittedAtMs?: unknown }).emittedAtMs);
    return Number.isFinite(emittedAtMs) ? emittedAtMs : undefined;
  } catch {
    return undefined;
  }
}
