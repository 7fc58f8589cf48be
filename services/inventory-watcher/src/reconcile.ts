import type { PoolClient } from '@pipeline/db';
import { isLow } from './crossing';
import { insertNotification, insertOpenTask, lockItem, openTaskOf, readItem, updateTask } from './store';
import {
  type ItemView,
  lowStockNotification,
  outOfStockNotification,
  reorderPriority,
  taskDescription,
  taskMetadata,
  taskTitle,
} from './texts';

/** Where a request comes from: recorded in the task's metadata and in the metrics. */
export type Source = 'change' | 'snapshot' | 'daily_check';

/**
 * What a change (or the daily check) asks for one item. Every request is judged against the
 * item's current row, read under the item's lock: a late copy of an old change can never undo a
 * newer one.
 * - `open`: it crossed below its threshold: a task, if it is still low and none is open.
 * - `refresh`: it stayed low: the open task's description follows the stock; a drop to zero
 *   (`droppedToZero`) makes a `high` task `urgent`, with one more notification.
 * - `close`: it was restocked: the open task is done, if the item is still at or above its threshold.
 * - `cancel`: it was deleted: the open task is cancelled, if the item is still gone.
 * - `evaluate`: only its current state counts (a snapshot row, the daily check, an update
 *   without its old row): low without a task opens one, healthy with one closes it, gone cancels it.
 */
export interface ReconcileRequest {
  inventoryId: string;
  intent: 'open' | 'refresh' | 'close' | 'cancel' | 'evaluate';
  droppedToZero?: boolean;
  source: Source;
  eventId?: string;
}

export type ReconcileResult =
  | { action: 'created'; taskId: string; item: ItemView }
  | { action: 'escalated'; taskId: string; item: ItemView }
  | { action: 'refreshed'; taskId: string }
  | { action: 'closed'; taskId: string }
  | { action: 'cancelled'; taskId: string }
  | { action: 'none'; why: string };

/** Runs one request inside the caller's transaction. */
export async function reconcileItem(client: PoolClient, request: ReconcileRequest): Promise<ReconcileResult> {
  await lockItem(client, request.inventoryId);
  const item = await readItem(client, request.inventoryId);
  const task = await openTaskOf(client, request.inventoryId);
  const by = { source: request.source, ...(request.eventId ? { event_id: request.eventId } : {}) };

  if (!item) {
    if (request.intent !== 'cancel' && request.intent !== 'evaluate') return { action: 'none', why: 'the item no longer exists' };
    if (!task) return { action: 'none', why: 'the item is gone and has no open task' };
    await updateTask(client, task.id, { status: 'cancelled', metadata: { reason: 'item deleted', closed_by: by } });
    return { action: 'cancelled', taskId: task.id };
  }
  if (request.intent === 'cancel') return { action: 'none', why: 'the item exists again' };

  if (!isLow(item)) {
    if (request.intent !== 'close' && request.intent !== 'evaluate') return { action: 'none', why: 'the item is no longer low' };
    if (!task) return { action: 'none', why: 'the item is not low and has no open task' };
    await updateTask(client, task.id, { status: 'done', metadata: { reason: 'restocked', restocked_to: item.quantity, closed_by: by } });
    return { action: 'closed', taskId: task.id };
  }
  if (request.intent === 'close') return { action: 'none', why: 'the item is low again' };

  if (!task) {
    if (request.intent === 'refresh')
      return { action: 'none', why: 'the item stayed low and has no open task (the daily check opens one)' };
    const taskId = await insertOpenTask(client, {
      title: taskTitle(item),
      description: taskDescription(item),
      priority: reorderPriority(item),
      metadata: taskMetadata(item, { source: request.source, ...(request.eventId ? { eventId: request.eventId } : {}) }),
    });
    // Opened by someone who did not take the item's lock (a person, in SQL): theirs stands.
    if (!taskId) return { action: 'none', why: 'a reorder task is already open' };
    await insertNotification(client, lowStockNotification(item, taskId));
    return { action: 'created', taskId, item };
  }

  if (request.intent === 'refresh' && request.droppedToZero && item.quantity === 0 && task.priority === 'high') {
    await updateTask(client, task.id, { priority: 'urgent', description: taskDescription(item), metadata: { escalated_by: by } });
    await insertNotification(client, outOfStockNotification(item, task.id));
    return { action: 'escalated', taskId: task.id, item };
  }
  await updateTask(client, task.id, { description: taskDescription(item) });
  return { action: 'refreshed', taskId: task.id };
}
