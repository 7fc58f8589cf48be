/** The part of an inventory row the reorder rule looks at. */
export interface StockLevel {
  quantity: number;
  reorder_threshold: number;
}

/** Below its threshold; equal to the threshold is not low. */
export const isLow = (level: StockLevel): boolean => level.quantity < level.reorder_threshold;

/**
 * What one change of an inventory row means for its reorder task:
 * - `crossed`: it became low (an insert already low, or a row that was not low): a task is needed.
 * - `stayed-low`: low before and after: the open task's description is refreshed; `droppedToZero` escalates it.
 * - `restocked`: low before, not after: the open task is done.
 * - `stayed-healthy`: nothing to do.
 * - `unknown-before`: an update without its old row (the table is not REPLICA IDENTITY FULL):
 *   whether it crossed cannot be told, so the item is judged by its current row alone, as a
 *   snapshot row is.
 */
export type StockTransition =
  | { kind: 'crossed' }
  | { kind: 'stayed-low'; droppedToZero: boolean }
  | { kind: 'restocked' }
  | { kind: 'stayed-healthy' }
  | { kind: 'unknown-before' };

/** The crossing rule: `before` is null for an insert, `undefined` when an update came without it. */
export function stockTransition(before: StockLevel | null | undefined, after: StockLevel): StockTransition {
  if (before === undefined) return { kind: 'unknown-before' };
  const wasLow = before !== null && isLow(before);
  const nowLow = isLow(after);
  if (nowLow && !wasLow) return { kind: 'crossed' };
  if (nowLow) return { kind: 'stayed-low', droppedToZero: (before?.quantity ?? 0) > 0 && after.quantity === 0 };
  return wasLow ? { kind: 'restocked' } : { kind: 'stayed-healthy' };
}
