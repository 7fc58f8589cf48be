import type { Change } from '@pipeline/schemas';

/** What a receiver gets: the shape database-webhook receivers already parse, plus the event's id and commit time. */
export interface WebhookPayload {
  type: 'INSERT' | 'UPDATE' | 'DELETE';
  table: string;
  schema: string;
  record: Record<string, unknown> | null;
  old_record: Record<string, unknown> | null;
  event_id: string;
  commit_timestamp: string;
}

const TYPES = { c: 'INSERT', u: 'UPDATE', d: 'DELETE' } as const;

/** A row without the columns PostgreSQL did not send (`unavailable`: `before.<col>` / `after.<col>`). */
function withoutUnavailable(row: object | null, side: 'before' | 'after', unavailable: readonly string[]): Record<string, unknown> | null {
  if (row === null) return null;
  const missing = new Set(unavailable.filter((u) => u.startsWith(`${side}.`)).map((u) => u.slice(side.length + 1)));
  return Object.fromEntries(Object.entries(row).filter(([column]) => !missing.has(column)));
}

/**
 * The body of a change's webhook, or undefined for what is never delivered: snapshot rows
 * (`op = r`, the table's state when capture began, not a change) and truncates.
 */
export function webhookPayload(change: Change<object>): WebhookPayload | undefined {
  if (change.op === 'r' || change.op === 't') return undefined;
  return {
    type: TYPES[change.op],
    table: change.source.table,
    schema: change.source.schema,
    record: withoutUnavailable(change.after, 'after', change.unavailable),
    old_record: withoutUnavailable(change.before, 'before', change.unavailable),
    event_id: change.eventId,
    commit_timestamp: change.source.commitTs,
  };
}
