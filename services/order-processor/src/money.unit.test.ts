import { formatMoney, fromCents, lineTotal, sumCents, toCents } from './money';

describe('money, exactly', () => {
  it('adds 0.10 and 0.20 to 0.30, never 0.30000000000000004', () => {
    expect(fromCents(sumCents([toCents('0.10'), toCents('0.20')]))).toBe('0.30');
    expect(formatMoney(sumCents([toCents('0.10'), toCents('0.20')]), 'USD')).toBe('$0.30');
  });

  it('multiplies quantity by unit price without rounding', () => {
    expect(fromCents(lineTotal(3, '19.99'))).toBe('59.97');
    expect(fromCents(lineTotal(1_000_000, '9999999999.99'))).toBe('9999999999990000.00');
  });

  it('formats in the order’s currency, and falls back to the code for one Intl does not know', () => {
    expect(formatMoney(toCents('1234.5'), 'EUR')).toBe('€1,234.50');
    expect(formatMoney(toCents('12.30'), 'PLN')).toBe('PLN\u00a012.30');
    expect(formatMoney(toCents('12.30'), 'XX1')).toBe('12.30 XX1');
  });
});
