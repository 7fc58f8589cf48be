import { parseSchema } from './avro';
import { formatDecimal, formatSmallDecimal, fromTwosComplement, parseDecimal, toTwosComplement } from './decimal';

describe('exact decimals', () => {
  it.each([
    ['0', 12, 2, 0n, '0.00'],
    ['12.3', 12, 2, 1230n, '12.30'],
    ['-0.01', 12, 2, -1n, '-0.01'],
    ['9999999999.99', 12, 2, 999999999999n, '9999999999.99'],
    ['-9999999999.99', 12, 2, -999999999999n, '-9999999999.99'],
    ['999999999999.99', 14, 2, 99999999999999n, '999999999999.99'],
    ['+42', 5, 0, 42n, '42'],
    ['000123.40', 6, 2, 12340n, '123.40'],
  ])('%s as numeric(%i,%i)', (text, precision, scale, unscaled, formatted) => {
    expect(parseDecimal(text, precision, scale)).toBe(unscaled);
    expect(formatDecimal(unscaled, scale)).toBe(formatted);
  });

  it('rounds nothing: too many fractional digits is an error', () => {
    expect(() => parseDecimal('1.005', 12, 2)).toThrow("1.005 has 3 fractional digits, the column's scale is 2: round it before writing");
  });

  it('refuses a value beyond the precision', () => {
    expect(() => parseDecimal('10000000000.00', 12, 2)).toThrow("10000000000.00 needs 13 digits, more than the column's precision 12");
  });

  it('accepts only plain decimal text (no exponent, no floats in disguise)', () => {
    for (const bad of ['1e3', '0x10', '', '.5', '5.', 'NaN', '1,5', ' 1']) {
      expect(() => parseDecimal(bad, 12, 2)).toThrow(/is not a decimal number/);
    }
  });

  it.each([0n, 1n, -1n, 127n, 128n, -128n, -129n, 255n, 256n, 999999999999n, -999999999999n, 2n ** 70n, -(2n ** 70n)])(
    "two's complement round-trips %s in the fewest bytes",
    (value) => {
      const bytes = toTwosComplement(value);
      expect(fromTwosComplement(bytes)).toBe(value);
      if (bytes.length > 1) {
        // The shortest form: dropping the first byte would change the value.
        expect(fromTwosComplement(bytes.subarray(1))).not.toBe(value);
      }
    },
  );

  it('matches the encoding other Avro implementations write', () => {
    expect(toTwosComplement(1230n).toString('hex')).toBe('04ce');
    expect(toTwosComplement(-1n).toString('hex')).toBe('ff');
    expect(toTwosComplement(128n).toString('hex')).toBe('0080');
    expect(toTwosComplement(-129n).toString('hex')).toBe('ff7f');
  });

  it('formats an unscaled integer that fits a number as the bigint path does, and reads 1 to 8 bytes back through Avro', () => {
    for (const unscaled of [0, 1, -1, 5, -5, 99, -100, 140_737_488_355_327, -140_737_488_355_328]) {
      for (const scale of [0, 2, 4]) expect(formatSmallDecimal(unscaled, scale)).toBe(formatDecimal(BigInt(unscaled), scale));
    }
    const type = parseSchema({ type: 'bytes', logicalType: 'decimal', precision: 18, scale: 2 }).type;
    for (const text of [
      '0.00',
      '0.01',
      '-0.01',
      '1.27',
      '1.28',
      '-1.28',
      '-1.29',
      '1407374883553.27',
      '1407374883553.28',
      '9999999999999999.99',
    ]) {
      expect(type.fromBuffer(type.toBuffer(text))).toBe(text);
    }
  });
});
