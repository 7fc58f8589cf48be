import { PipelineError } from '@pipeline/runtime';

/**
 * How long to wait before reconnection attempt `attempt` (0 for the first after a failure): from
 * 250 ms, doubling, capped at `maxMs`, then scaled into [50 %, 100 %) by `random` so readers that
 * failed together do not come back together.
 */
export function reconnectDelayMs(attempt: number, maxMs: number, random: () => number = Math.random): number {
  return Math.min(maxMs, 250 * 2 ** attempt) * (0.5 + random() / 2);
}

/** A session that streamed this long before it failed starts the backoff over, ms. */
export const BACKOFF_RESET_AFTER_MS = 30_000;

/** Node's codes for a connection that failed or went away. */
const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * What kind of failure ended a session, for `cdc_reconnects_total{reason}`, read from the
 * error's structure (its class, SQLSTATE or system code), never from its message:
 * `connection` (PostgreSQL or the network went away), `postgres` (an error the server answered
 * with), `kafka`, or the code of a PipelineError.
 */
/** The reasons `reconnectReason` gives besides a PipelineError's code. */
export const RECONNECT_REASONS = ['connection', 'kafka', 'postgres', 'other'] as const;

export function reconnectReason(error: unknown): string {
  if (error instanceof PipelineError) return error.code.toLowerCase();
  const e = error as { name?: string; code?: unknown; severity?: unknown; cause?: unknown } | undefined;
  if (typeof e?.name === 'string' && e.name.startsWith('KafkaJS')) return 'kafka';
  if (typeof e?.code === 'string' && CONNECTION_CODES.has(e.code)) return 'connection';
  // pg's DatabaseError: a SQLSTATE and a severity; class 57 (operator intervention: a terminated backend) and 08 are connections.
  if (typeof e?.code === 'string' && typeof e.severity === 'string') return /^(57|08)/.test(e.code) ? 'connection' : 'postgres';
  if (e?.cause !== undefined && e.cause !== error) return reconnectReason(e.cause);
  return 'other';
}
