import { matches, webhookPayload } from '@pipeline/webhooks';
import type { CapturedEvent } from '../capture';
import { firstOf, type Invariant, type Observation } from './observation';

/** `<table>:<id>`: the row a change is about (every captured table's key is `id`). */
function rowOf(event: CapturedEvent): string {
  const { change } = event;
  const row = (change.after ?? change.before ?? {}) as { id?: unknown };
  return `${change.source.table}:${String(row.id ?? change.eventId)}`;
}

/** Each distinct event once, at its first place in its partition (a re-sent copy keeps the first one's place). */
function distinctInTopicOrder(events: readonly CapturedEvent[]): CapturedEvent[] {
  const sorted = [...events].sort((a, b) =>
    a.topic === b.topic ? a.partition - b.partition || Number(a.offset - b.offset) : a.topic.localeCompare(b.topic),
  );
  const seen = new Set<string>();
  return sorted.filter((event) => !seen.has(event.change.eventId) && seen.add(event.change.eventId));
}

/** Per row, the event ids in the order given. */
function perRow<T>(items: readonly T[], row: (item: T) => string, id: (item: T) => string): Map<string, string[]> {
  const rows = new Map<string, string[]>();
  for (const item of items) {
    const list = rows.get(row(item)) ?? [];
    list.push(id(item));
    rows.set(row(item), list);
  }
  return rows;
}

/**
 * Every subscription's receiver got every change its filter selects, nothing else (after removing
 * repeats of a `webhook-id`), each signed, and a row's changes in commit order: the first accepted
 * delivery of each change comes after its row's previous change's.
 */
export const webhooksComplete: Invariant = {
  name: 'webhooks complete and in order',
  check(observation: Observation) {
    const events = distinctInTopicOrder(observation.events);
    const violations: string[] = [];
    for (const { receiver, filter } of observation.subscriptions) {
      const expected = events.filter((event) => {
        const payload = webhookPayload(event.change);
        return payload !== undefined && matches(filter, payload);
      });
      const unsigned = receiver.deliveries.filter((d) => !d.signed).length;
      if (unsigned > 0) violations.push(`${receiver.name}: ${unsigned} requests whose signature did not verify`);
      const seen = new Set<string>();
      const accepted = receiver.deliveries.filter(
        (d) => d.status >= 200 && d.status < 300 && !seen.has(d.webhookId) && seen.add(d.webhookId),
      );
      const got = new Set(accepted.map((d) => d.eventId));
      const want = new Set(expected.map((e) => e.change.eventId));
      const missing = [...want].filter((id) => !got.has(id));
      const extra = [...got].filter((id) => !want.has(id));
      if (missing.length > 0)
        violations.push(
          `${receiver.name}: ${missing.length} of ${want.size} changes never delivered, for example ${missing.slice(0, 3).join(', ')}`,
        );
      if (extra.length > 0)
        violations.push(
          `${receiver.name}: ${extra.length} deliveries of changes its subscription does not select, for example ${extra.slice(0, 3).join(', ')}`,
        );
      if (accepted.length !== got.size)
        violations.push(`${receiver.name}: one change accepted under ${accepted.length - got.size} more webhook-ids than one`);
      const wantOrder = perRow(expected, rowOf, (e) => e.change.eventId);
      const gotOrder = perRow(
        accepted,
        (d) => d.row,
        (d) => d.eventId,
      );
      for (const [row, order] of gotOrder) {
        const commitOrder = (wantOrder.get(row) ?? []).filter((id) => got.has(id));
        if (JSON.stringify(order) !== JSON.stringify(commitOrder)) {
          violations.push(
            `${receiver.name}: row ${row} got its changes in the order ${order.join(', ')}; committed as ${commitOrder.join(', ')}`,
          );
        }
      }
    }
    return firstOf(violations);
  },
};

/**
 * Capture is complete: every transaction PostgreSQL committed on the captured tables (as the
 * harness's own test_decoding slot lists them, the services' writes included) is on the cdc topics
 * with as many distinct events as it made changes, all with one commit position.
 */
export const captureComplete: Invariant = {
  name: 'capture complete',
  check(observation) {
    const byTx = new Map<number, { ids: Set<string>; lsns: Set<string> }>();
    for (const { change } of observation.events) {
      const entry = byTx.get(change.source.txId) ?? { ids: new Set<string>(), lsns: new Set<string>() };
      entry.ids.add(change.eventId);
      entry.lsns.add(change.source.lsn);
      byTx.set(change.source.txId, entry);
    }
    const violations: string[] = [];
    for (const tx of observation.witnessed) {
      const got = byTx.get(tx.xid);
      const count = got?.ids.size ?? 0;
      if (count !== tx.changes) {
        violations.push(
          `transaction ${tx.xid} (commit ending at ${tx.commitEndLsn}) changed ${tx.changes} captured rows; the cdc topics hold ${count} distinct events of it`,
        );
      } else if ((got?.lsns.size ?? 0) > 1) {
        violations.push(
          `transaction ${tx.xid}'s events carry ${got?.lsns.size} different commit LSNs: ${[...(got?.lsns ?? [])].join(', ')}`,
        );
      }
    }
    if (observation.witnessed.length === 0) violations.push('the witness slot listed no transaction: the workload wrote nothing?');
    return firstOf(violations);
  },
};
