import type { ChangeHandler } from '@pipeline/kit';
import { enqueue, matches, subscriptionsOf, webhookId, webhookPayload } from '@pipeline/webhooks';
import type { Config } from './config';

/** The key a row's deliveries are ordered by: every captured table's primary key is `id`. */
function rowKey(table: string, row: Record<string, unknown> | null, eventId: string): string {
  const id = row?.id;
  return id === undefined || id === null ? `${table}:${eventId}` : `${table}:${String(id)}`;
}

/**
 * Queues a change for every active subscription it matches, in the transaction that records the
 * event as processed: a redelivery or a replay of the topic queues nothing twice, and a queued
 * delivery is never lost. Snapshot rows and truncates are not delivered.
 */
export function queueHandler(): ChangeHandler<unknown, Config> {
  return async (change, ctx) => {
    const payload = webhookPayload(change as never);
    if (!payload) return 'processed';
    const table = `${payload.schema}.${payload.table}`;
    const processed = await ctx.processOnce(async (client) => {
      const wanted = (await subscriptionsOf(client, table)).filter((s) => matches(s, payload));
      return enqueue(
        client,
        wanted.map((s) => ({
          subscriptionId: s.id,
          eventId: payload.event_id,
          webhookId: webhookId(s.id, payload.event_id),
          rowKey: rowKey(table, payload.record ?? payload.old_record, payload.event_id),
          payload,
          committedAt: payload.commit_timestamp,
        })),
      );
    });
    return processed.status === 'skipped' ? 'skipped' : 'processed';
  };
}
