import {
  encodeSingleObject,
  formatDecimal,
  formatTimestampMicros,
  listSubjects,
  readRowSchema,
  SingleObjectDecoder,
} from '@pipeline/schemas';
import fc from 'fast-check';
import { fixedTx, schemaRelation } from './__tests__/relations';
import type { FieldKind } from './columns';
import { mapInsert } from './mapper';

/**
 * The reader's mapping from pgoutput's text to Avro, for every column of every captured table:
 * random values of each column's type, its extremes among them, written as PostgreSQL writes them
 * (DateStyle ISO, UTC), come back from the codec as exactly the value they were.
 */

/** The decimal columns' precision, from the row schema itself. */
function precisionOf(subject: string, column: string): number {
  const field = readRowSchema(subject).fields.find((f) => f.name === column) as { type: unknown };
  const node = (Array.isArray(field.type) ? field.type.find((t) => t !== 'null') : field.type) as { precision: number };
  return node.precision;
}

const MIN_MICROS = -62_135_596_800_000_000n; // 0001-01-01T00:00:00Z
const MAX_MICROS = 253_402_300_799_999_999n; // 9999-12-31T23:59:59.999999Z

/** A timestamptz as PostgreSQL prints it in UTC: trailing zeros of the fraction dropped, `+00`. */
function pgTimestamp(micros: bigint): string {
  const iso = formatTimestampMicros(micros); // YYYY-MM-DDTHH:MM:SS.ffffffZ
  const fraction = iso.slice(20, 26).replace(/0+$/, '');
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${fraction ? `.${fraction}` : ''}+00`;
}

/** [pgoutput text, the value the codec must give back] for one column. */
function column(subject: string, kind: FieldKind): fc.Arbitrary<[string | null, unknown]> {
  let value: fc.Arbitrary<[string, unknown]>;
  if (kind.logicalType === 'uuid') {
    value = fc.uuid().map((u) => [u, u]);
  } else if (kind.logicalType === 'decimal') {
    const scale = kind.scale ?? 0;
    const limit = 10n ** BigInt(precisionOf(subject, kind.name)) - 1n;
    value = fc
      .oneof(fc.constantFrom(-limit, limit, 0n, 1n, -1n), fc.bigInt({ min: -limit, max: limit }))
      .map((unscaled) => [formatDecimal(unscaled, scale), formatDecimal(unscaled, scale)]);
  } else if (kind.logicalType === 'timestamp-micros') {
    value = fc
      .oneof(fc.constantFrom(MIN_MICROS, MAX_MICROS, 0n, -1n), fc.bigInt({ min: MIN_MICROS, max: MAX_MICROS }))
      .map((micros) => [pgTimestamp(micros), formatTimestampMicros(micros)]);
  } else if (kind.logicalType === 'json') {
    value = fc.json({ maxDepth: 3 }).map((text) => [text, text]);
  } else if (kind.type === 'int') {
    value = fc
      .oneof(fc.constantFrom(-2_147_483_648, 2_147_483_647, 0), fc.integer({ min: -2_147_483_648, max: 2_147_483_647 }))
      .map((n) => [String(n), n]);
  } else if (kind.type === 'boolean') {
    value = fc.boolean().map((b) => [b ? 't' : 'f', b]);
  } else {
    // PostgreSQL text holds any Unicode but NUL.
    value = fc
      .oneof(fc.string({ unit: 'binary', maxLength: 40 }), fc.string({ unit: 'grapheme', minLength: 1_000, maxLength: 3_000 }))
      .filter((s) => !s.includes('\u0000'))
      .map((s) => [s, s]);
  }
  return kind.nullable ? fc.option(value, { nil: [null, null] as [null, null], freq: 5 }) : value;
}

describe('pgoutput text to Avro and back, for every captured column type', () => {
  it.each(listSubjects())('%s: every row round-trips exactly', async (subject) => {
    const rel = schemaRelation(subject);
    const { fields } = rel;
    const tx = fixedTx();
    const decoder = new SingleObjectDecoder(async () => rel.writer);
    const row = fc.record(Object.fromEntries(fields.map((kind) => [kind.name, column(subject, kind)])));
    await fc.assert(
      fc.asyncProperty(row, async (generated) => {
        const tuple = Object.fromEntries(Object.entries(generated).map(([name, [text]]) => [name, text]));
        const expected = Object.fromEntries(Object.entries(generated).map(([name, [, value]]) => [name, value]));
        const [event] = mapInsert(rel, tx, tuple);
        const decoded = (await decoder.decode(encodeSingleObject(rel.writer, event?.envelope), rel.writer)) as {
          after: Record<string, unknown>;
          unavailable: string[];
        };
        expect(decoded.after).toEqual(expected);
        expect(decoded.unavailable).toEqual([]);
      }),
      { numRuns: 150 },
    );
  });
});
