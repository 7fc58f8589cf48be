import { isLow, type StockLevel, type StockTransition, stockTransition } from './crossing';

const at = (quantity: number, reorder_threshold: number): StockLevel => ({ quantity, reorder_threshold });

describe('the crossing rule', () => {
  it.each<[string, StockLevel | null | undefined, StockLevel, StockTransition]>([
    ['insert already low', null, at(3, 10), { kind: 'crossed' }],
    ['insert at zero with a threshold', null, at(0, 1), { kind: 'crossed' }],
    ['insert equal to its threshold (not low)', null, at(10, 10), { kind: 'stayed-healthy' }],
    ['insert above its threshold', null, at(11, 10), { kind: 'stayed-healthy' }],
    ['insert at zero with threshold zero (nothing is below 0)', null, at(0, 0), { kind: 'stayed-healthy' }],
    ['drop from above to below', at(12, 10), at(9, 10), { kind: 'crossed' }],
    ['drop from equal to one below', at(10, 10), at(9, 10), { kind: 'crossed' }],
    ['drop to equal (not low)', at(12, 10), at(10, 10), { kind: 'stayed-healthy' }],
    ['drop from above straight to zero', at(12, 10), at(0, 10), { kind: 'crossed' }],
    ['threshold raised above the stock', at(5, 5), at(5, 6), { kind: 'crossed' }],
    ['threshold raised to equal the stock', at(5, 4), at(5, 5), { kind: 'stayed-healthy' }],
    ['threshold lowered below the stock of a low item', at(5, 8), at(5, 4), { kind: 'restocked' }],
    ['threshold lowered to equal the stock of a low item', at(5, 8), at(5, 5), { kind: 'restocked' }],
    ['threshold lowered while still low', at(2, 8), at(2, 5), { kind: 'stayed-low', droppedToZero: false }],
    ['staying low, stock falls', at(5, 10), at(3, 10), { kind: 'stayed-low', droppedToZero: false }],
    ['staying low, stock rises', at(3, 10), at(7, 10), { kind: 'stayed-low', droppedToZero: false }],
    ['staying low, drops to zero', at(3, 10), at(0, 10), { kind: 'stayed-low', droppedToZero: true }],
    ['staying at zero', at(0, 10), at(0, 10), { kind: 'stayed-low', droppedToZero: false }],
    ['staying healthy, stock falls', at(50, 10), at(20, 10), { kind: 'stayed-healthy' }],
    ['staying healthy, unrelated column changed', at(50, 10), at(50, 10), { kind: 'stayed-healthy' }],
    ['restocked above', at(3, 10), at(40, 10), { kind: 'restocked' }],
    ['restocked exactly to the threshold', at(3, 10), at(10, 10), { kind: 'restocked' }],
    ['restocked from zero', at(0, 10), at(10, 10), { kind: 'restocked' }],
    ['an update without its old row', undefined, at(3, 10), { kind: 'unknown-before' }],
    ['an update without its old row, healthy', undefined, at(30, 10), { kind: 'unknown-before' }],
  ])('%s', (_name, before, after, expected) => {
    expect(stockTransition(before, after)).toEqual(expected);
  });

  it.each<[StockLevel, boolean]>([
    [at(9, 10), true],
    [at(10, 10), false],
    [at(0, 0), false],
    [at(0, 1), true],
  ])('isLow(%j) is %s', (level, low) => {
    expect(isLow(level)).toBe(low);
  });
});
