import { parseSchema } from './avro';
import { formatTimestampMicros, formatTimestampMicrosNumber, parseTimestampMicros } from './timestamp';

describe('timestamps with microseconds', () => {
  it.each([
    ['2026-11-29T17:35:04.123456Z', 1_795_973_704_123_456n, '2026-11-29T17:35:04.123456Z'],
    ['1970-01-01T00:00:00Z', 0n, '1970-01-01T00:00:00.000000Z'],
    ['1969-12-31T23:59:59.999999Z', -1n, '1969-12-31T23:59:59.999999Z'],
    ['2026-11-29 18:35:04.5+01', 1_795_973_704_500_000n, '2026-11-29T17:35:04.500000Z'],
    ['2026-11-29T12:05:04.000001-05:30', 1_795_973_704_000_001n, '2026-11-29T17:35:04.000001Z'],
    ['0001-01-01T00:00:00.000001Z', -62_135_596_799_999_999n, '0001-01-01T00:00:00.000001Z'],
    ['9999-12-31T23:59:59.999999Z', 253_402_300_799_999_999n, '9999-12-31T23:59:59.999999Z'],
  ])('%s', (text, micros, formatted) => {
    expect(parseTimestampMicros(text)).toBe(micros);
    expect(formatTimestampMicros(micros)).toBe(formatted);
  });

  it('rejects what is not a timestamp or not a calendar date', () => {
    expect(() => parseTimestampMicros('2026-02-30T00:00:00Z')).toThrow('2026-02-30T00:00:00Z is not a calendar date and time');
    expect(() => parseTimestampMicros('yesterday')).toThrow('"yesterday" is not a timestamp such as 2026-11-29T17:35:04.123456Z');
    expect(() => parseTimestampMicros('2026-11-29T17:35:04.1234567Z')).toThrow(/is not a timestamp/);
    expect(() => parseTimestampMicros('2026-11-29T17:35:04')).toThrow(/is not a timestamp/);
  });

  it('keeps microseconds exact beyond the range of a JavaScript number (before 1685, after 2255)', () => {
    const micros = parseTimestampMicros('2300-06-15T12:00:00.000007Z');
    expect(micros > BigInt(Number.MAX_SAFE_INTEGER)).toBe(true);
    expect(formatTimestampMicros(micros)).toBe('2300-06-15T12:00:00.000007Z');
  });

  it('formats safe integers without bigint exactly as the bigint path does, across days and around the epoch', () => {
    let state = 20261203;
    // A small linear congruential generator: the same samples on every run.
    const next = () => {
      state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
      return state / 2_147_483_648;
    };
    const samples = [0, -1, 1, 86_400_000_000 - 1, 86_400_000_000, -86_400_000_000, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER];
    for (let i = 0; i < 2_000; i++) samples.push(Math.floor((next() * 2 - 1) * 9e15));
    for (const micros of samples) expect(formatTimestampMicrosNumber(micros)).toBe(formatTimestampMicros(BigInt(micros)));
  });

  it('reads every timestamp back through Avro, on either side of the 2^53 fast-path limit', () => {
    const type = parseSchema({ type: 'long', logicalType: 'timestamp-micros' }).type;
    for (const text of [
      '2026-11-29T17:35:04.123456Z',
      '1969-12-31T23:59:59.999999Z',
      '2255-06-05T23:47:34.740991Z',
      '2255-06-05T23:47:34.740992Z',
      '1684-07-28T00:12:25.259008Z',
      '9999-12-31T23:59:59.999999Z',
      '0001-01-01T00:00:00.000001Z',
    ]) {
      expect(type.fromBuffer(type.toBuffer(text))).toBe(text);
    }
  });
});
