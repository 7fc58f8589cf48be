import { createHash } from 'node:crypto';

/** 32-bit FNV-1a over a string, seeded: cheap, deterministic, well spread. */
function fnv1a(text: string, seed: number): number {
  let hash = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** The trace id of a transaction: every event of it joins one trace, across redeliveries too. */
export function traceIdOf(systemId: string, commitLsn: string): string {
  return createHash('sha256').update(`${systemId}:${commitLsn}`).digest('hex').slice(0, 32);
}

/** W3C traceparent: the transaction's trace, a span per event derived from its id (never all zeros). */
export function traceparent(traceId: string, eventId: string): string {
  const span = `${fnv1a(eventId, 0x811c9dc5).toString(16).padStart(8, '0')}${((fnv1a(eventId, 0x050c5d1f) | 1) >>> 0).toString(16).padStart(8, '0')}`;
  return `00-${traceId}-${span}-01`;
}
