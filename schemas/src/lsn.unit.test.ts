import { formatLsn, parseLsn } from './lsn';

describe('LSNs', () => {
  it('reads both spellings as the same 64-bit integer', () => {
    expect(parseLsn('0/4F52CB8')).toBe(0x4f52cb8n);
    expect(parseLsn('00000000/04F52CB8')).toBe(0x4f52cb8n);
    expect(parseLsn('16/b374d848')).toBe((0x16n << 32n) | 0xb374d848n);
    expect(parseLsn('FFFFFFFF/FFFFFFFF')).toBe(2n ** 64n - 1n);
  });

  it('orders numerically where string comparison would not', () => {
    expect(parseLsn('0/9') < parseLsn('0/10')).toBe(true);
    expect('0/9' < '0/10').toBe(false);
    expect(parseLsn('1/0') > parseLsn('0/FFFFFFFF')).toBe(true);
  });

  it('formats as PostgreSQL does', () => {
    expect(formatLsn(0x4f52cb8n)).toBe('0/4F52CB8');
    expect(formatLsn((0x16n << 32n) | 0xb374d848n)).toBe('16/B374D848');
    expect(formatLsn(parseLsn('00000000/00000000'))).toBe('0/0');
  });

  it('rejects what is not an LSN', () => {
    expect(() => parseLsn('0-4F52CB8')).toThrow('"0-4F52CB8" is not an LSN such as 0/4F52CB8');
  });
});
