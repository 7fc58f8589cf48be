import { isUuid, PipelineError } from '@pipeline/runtime';
import { type Change, type InventoryRow, isUnavailable } from '@pipeline/schemas';
import { stockTransition } from './crossing';
import type { ReconcileRequest } from './reconcile';

/**
 * What one inventory change asks of the watcher: nothing (a change that stays healthy), a request
 * for its item, or, for a truncate, every open task whose item is gone.
 */
export type Intent = { kind: 'nothing'; why: string } | { kind: 'item'; request: ReconcileRequest } | { kind: 'orphans' };

/** The columns the reorder rule reads from a change (the item's texts come from its current row). */
const RULE_COLUMNS = ['quantity', 'reorder_threshold'] as const;

/** Whether the rule can read `side` of the change: none of its columns holds a placeholder. */
const readable = (change: Change<InventoryRow>, side: 'before' | 'after') =>
  RULE_COLUMNS.every((column) => !isUnavailable(change, side, column));

/** A row the reorder rule cannot judge is a dead letter that says what is wrong with it; placeholders are not judged. */
function checkRow(change: Change<InventoryRow>, row: InventoryRow, which: 'before' | 'after'): void {
  const eventId = change.eventId;
  const given = (column: (typeof RULE_COLUMNS)[number]) => !isUnavailable(change, which, column);
  const problems = [
    isUuid(row.id) ? undefined : `id ${JSON.stringify(row.id)} is not a uuid`,
    !given('quantity') || (Number.isInteger(row.quantity) && row.quantity >= 0)
      ? undefined
      : `quantity ${row.quantity} is not a whole number ≥ 0`,
    !given('reorder_threshold') || (Number.isInteger(row.reorder_threshold) && row.reorder_threshold >= 0)
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
      checkRow(change, change.before, 'before');
      return { kind: 'item', request: { ...base, inventoryId: change.before.id, intent: 'cancel', source: 'change' } };
    case 'r':
      checkRow(change, change.after, 'after');
      return { kind: 'item', request: { ...base, inventoryId: change.after.id, intent: 'evaluate', source: 'snapshot' } };
    case 'c':
    case 'u': {
      checkRow(change, change.after, 'after');
      if (change.before) checkRow(change, change.before, 'before');
      const request = { ...base, inventoryId: change.after.id, source: 'change' as const };
      // Stock it cannot read (placeholders) is not judged: the item's current row decides, as for a snapshot row.
      if (!readable(change, 'after')) return { kind: 'item', request: { ...request, intent: 'evaluate' } };
      const before = change.op === 'c' ? null : change.before && readable(change, 'before') ? change.before : undefined;
      const transition = stockTransition(before, change.after);
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
