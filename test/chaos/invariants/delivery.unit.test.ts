import type { Change } from '@pipeline/schemas';
import type { CapturedEvent } from '../capture';
import type { ChaosReceiver, Delivery } from '../receiver';
import { captureComplete, webhooksComplete } from './delivery';
import type { Observation } from './observation';

/** An opportunity's stage change as the topic holds it: `offset` in its partition, committed in transaction `txId`. */
function change(eventId: string, row: string, offset: number, txId = offset): CapturedEvent {
  return {
    topic: 'cdc.public.opportunities',
    partition: 0,
    offset: BigInt(offset),
    change: {
      op: 'u',
      snapshot: false,
      subject: 'public.opportunities',
      eventId,
      source: { db: 'pipeline', schema: 'public', table: 'opportunities', lsn: `0/${txId}`, txId, commitTs: '', snapshot: false },
      unavailable: [],
      tsMs: 0,
      before: { id: row, stage: 'a' },
      after: { id: row, stage: 'b' },
    } as unknown as Change<Record<string, unknown>>,
  };
}

/** What a receiver accepted (204) or refused (500), in arrival order. */
const delivery = (eventId: string, row: string, status = 204): Delivery => ({
  webhookId: `msg_${eventId}`,
  eventId,
  row: `opportunities:${row}`,
  status,
  signed: true,
  at: 0,
});

function observation(events: CapturedEvent[], deliveries: Delivery[], witnessed: Observation['witnessed'] = []): Observation {
  const receiver = { name: 'opportunities', deliveries } as unknown as ChaosReceiver;
  return {
    events,
    witnessed,
    subscriptions: [{ receiver, subscriptionId: 's', filter: { tables: ['public.opportunities'], operations: [], changedColumns: [] } }],
  } as unknown as Observation;
}

describe('the webhook invariant', () => {
  const events = [change('a', 'r1', 0), change('b', 'r1', 1), change('c', 'r2', 2), change('a', 'r1', 3)];

  it('holds for every change delivered once, a refused attempt and a repeat aside, each row in commit order', () => {
    const got = [delivery('a', 'r1', 500), delivery('c', 'r2'), delivery('a', 'r1'), delivery('a', 'r1'), delivery('b', 'r1')];
    expect(webhooksComplete.check(observation(events, got))).toEqual([]);
  });

  it('names a change never delivered, and a row whose changes came out of commit order', () => {
    expect(webhooksComplete.check(observation(events, [delivery('a', 'r1'), delivery('b', 'r1')]))).toEqual([
      'opportunities: 1 of 3 changes never delivered, for example c',
    ]);
    expect(webhooksComplete.check(observation(events, [delivery('b', 'r1'), delivery('a', 'r1'), delivery('c', 'r2')]))).toEqual([
      'opportunities: row opportunities:r1 got its changes in the order b, a; committed as a, b',
    ]);
  });
});

describe('the capture invariant', () => {
  it('holds when each witnessed transaction has as many distinct events as changes; names one that lost a change', () => {
    const events = [change('a', 'r1', 0, 7), change('b', 'r2', 1, 7), change('a', 'r1', 2, 7), change('c', 'r1', 3, 8)];
    expect(
      captureComplete.check(
        observation(
          events,
          [],
          [
            { xid: 7, commitEndLsn: '0/7', changes: 2 },
            { xid: 8, commitEndLsn: '0/8', changes: 1 },
          ],
        ),
      ),
    ).toEqual([]);
    expect(captureComplete.check(observation(events, [], [{ xid: 8, commitEndLsn: '0/8', changes: 2 }]))).toEqual([
      'transaction 8 (commit ending at 0/8) changed 2 captured rows; the cdc topics hold 1 distinct events of it',
    ]);
  });
});
