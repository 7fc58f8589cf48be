import { type Change, type InventoryRow, toChange } from '@pipeline/schemas';
import { edgeEnvelope, firstEdgeRow } from '@pipeline/schemas/fixtures';
import { intentOf } from './intent';

const row = (quantity: number, reorder_threshold: number): InventoryRow => ({
  ...firstEdgeRow('public.inventory'),
  id: '5f0c7a52-8d4e-4c1f-9a7b-1d2e3f405162',
  quantity,
  reorder_threshold,
});
const change = (
  op: 'c' | 'u' | 'd' | 'r' | 't',
  before: InventoryRow | null,
  after: InventoryRow | null,
  unavailable: string[] = [],
): Change<InventoryRow> =>
  toChange({
    subject: 'public.inventory',
    envelope: { ...edgeEnvelope<InventoryRow>('public.inventory', op, before, after), eventId: 'sys:0/1:0', unavailable },
  });

describe('what an inventory change asks of the watcher', () => {
  const request = (intent: string, extra: Record<string, unknown> = {}) => ({
    kind: 'item',
    request: { eventId: 'sys:0/1:0', inventoryId: '5f0c7a52-8d4e-4c1f-9a7b-1d2e3f405162', intent, ...extra },
  });

  it.each<[string, Change<InventoryRow>, unknown]>([
    ['an insert already low opens', change('c', null, row(1, 5)), request('open', { source: 'change' })],
    [
      'an insert that is healthy does nothing',
      change('c', null, row(9, 5)),
      { kind: 'nothing', why: 'the item was not low and is not low' },
    ],
    ['a crossing opens', change('u', row(6, 5), row(4, 5)), request('open', { source: 'change' })],
    ['staying low refreshes', change('u', row(4, 5), row(3, 5)), request('refresh', { source: 'change', droppedToZero: false })],
    [
      'a drop to zero while low escalates',
      change('u', row(4, 5), row(0, 5)),
      request('refresh', { source: 'change', droppedToZero: true }),
    ],
    ['a restock closes', change('u', row(4, 5), row(5, 5)), request('close', { source: 'change' })],
    ['an update without its old row evaluates', change('u', null, row(4, 5)), request('evaluate', { source: 'change' })],
    ['a snapshot row evaluates', change('r', null, row(4, 5)), request('evaluate', { source: 'snapshot' })],
    // A placeholder (0 for a number) is never judged: the item's current row is.
    [
      'a change whose new quantity is unavailable evaluates the current row',
      change('u', row(6, 5), row(0, 5), ['after.quantity']),
      request('evaluate', { source: 'change' }),
    ],
    [
      'an insert whose threshold is unavailable evaluates the current row',
      change('c', null, row(6, 0), ['after.reorder_threshold']),
      request('evaluate', { source: 'change' }),
    ],
    [
      'an update whose old quantity is unavailable is judged without its old row',
      change('u', row(0, 5), row(4, 5), ['before.quantity']),
      request('evaluate', { source: 'change' }),
    ],
    [
      'an unavailable column the rule does not read changes nothing',
      change('u', row(6, 5), row(4, 5), ['after.attributes', 'before.attributes']),
      request('open', { source: 'change' }),
    ],
    [
      'a placeholder is not an invalid row',
      change('u', row(6, 5), { ...row(4, 5), quantity: 0, reorder_threshold: 0 }, ['after.quantity', 'after.reorder_threshold']),
      request('evaluate', { source: 'change' }),
    ],
    ['a delete cancels', change('d', row(4, 5), null), request('cancel', { source: 'change' })],
    ['a truncate looks for orphans', change('t', null, null), { kind: 'orphans' }],
  ])('%s', (_name, input, expected) => {
    expect(intentOf(input)).toEqual(expected);
  });

  it('refuses a row the table could not hold, saying what is wrong and what to do', () => {
    const bad = { ...row(-1, 5), id: 'not-a-uuid' };
    expect(() => intentOf(change('u', row(4, 5), bad))).toThrow(
      expect.objectContaining({
        code: 'INVALID_ROW',
        retriable: false,
        message: expect.stringMatching(
          /^inventory change sys:0\/1:0 has an invalid after row: id "not-a-uuid" is not a uuid; quantity -1 is not a whole number ≥ 0\. .*find its producer, then resolve the dead letter\.$/,
        ),
      }),
    );
  });
});
