import { isUuid, PipelineError } from '@pipeline/runtime';
import type { Change, InventoryRow } from '@pipeline/schemas';
import { stockTransition } from './crossing';
import type { ReconcileRequest } from './reconcile';

/**
 * What one inventory change asks of the watcher: nothing (a change that stays healthy), a request
 * for its item, or, for a truncate, every open task whose item is gone.
 */
export type Intent = { kind: 'nothing'; why: string } | { kind: 'item'; request: ReconcileRequest } | { kind: 'orphans' };

/** A row the reorder rule cannot judge is a dead letter that says what is wrong with it. */
function checkRow(row: InventoryRow, which: 'before' | 'after', eventId: string): void {
  const problems = [
    isUuid(row.id) ? undefined : `id ${JSON.stringify(row.id)} is not a uuid`,
    Number.isInteger(row.quantity) && row.quantity >= 0 ? undefined : `quantity ${row.quantity} is not a whole number ≥ 0`,
    Number.isInteger(row.reorder_threshold) && row.reorder_threshold >= 0
      ? undefined
      : `reorder_threshold ${row.reorder_threshold} is not a whole number ≥ 0`,
  ].filter((problem) => problem !== undefined);
  if (problems.length === 0) return;
  throw new PipelineError(
    `inventory change ${eventId} has an invalid ${which} row: ${problems.join('; ')}. The inventory table's checks forbid such rows, ` +
      'so something other than the cdc-reader wrote this event: find its producer, then resolve the dead letter.',
    { code: 'INVALID_ROW', retriable: false },
  );
}

export function intentOf(change: Change<InventoryRow>): Intent {
  const base = { eventId: change.eventId };
  switch (change.op) {
    case 't':
      return { kind: 'orphans' };
    case 'd':
      checkRow(change.before, 'before', change.eventId);
      return { kind: 'item', request: { ...base, inventoryId: change.before.id, intent: 'cancel', source: 'change' } };
    case 'r':
      checkRow(change.after, 'after', change.eventId);
      return { kind: 'item', request: { ...base, inventoryId: change.after.id, intent: 'evaluate', source: 'snapshot' } };
    case 'c':
    case 'u': {
      checkRow(change.after, 'after', change.eventId);
      if (change.before) checkRow(change.before, 'before', change.eventId);
      const transition = stockTransition(change.op === 'c' ? null : (change.before ?? undefined), change.after);
      const request = { ...base, inventoryId: change.after.id, source: 'change' as const };
      switch (transition.kind) {
        case 'stayed-healthy':
          return { kind: 'nothing', why: 'the item was not low and is not low' };
        case 'crossed':
          return { kind: 'item', request: { ...request, intent: 'open' } };
        case 'stayed-low':
          return { kind: 'item', request: { ...request, intent: 'refresh', droppedToZero: transition.droppedToZero } };
        case 'restocked':
          return { kind: 'item', request: { ...request, intent: 'close' } };
        case 'unknown-before':
          return { kind: 'item', request: { ...request, intent: 'evaluate' } };
      }
    }
  }
}
