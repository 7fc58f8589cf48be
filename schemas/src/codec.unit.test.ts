import { parseSchema } from './avro';
import { SchemaCatalog } from './catalog';
import { encodeSingleObject, readSingleObjectHeader, SingleObjectDecoder } from './codec';
import { InvalidValueError, NotSingleObjectError, UndecodableError, UnknownSchemaError } from './errors';
import { envelopeSchema, listSubjects } from './files';
import { EDGE_ROWS, type EdgeSubject, edgeEnvelope, firstEdgeRow } from './fixtures';

/** A decoder over an in-memory catalog (the Kafka-backed resolver is tested against the broker). */
function decoderFor(...schemas: ReturnType<typeof parseSchema>[]): SingleObjectDecoder {
  const catalog = new SchemaCatalog(schemas);
  return new SingleObjectDecoder(async (fp) => {
    const found = catalog.get(fp.hex);
    if (!found) throw new UnknownSchemaError(fp.hex, 'the test catalog');
    return found;
  });
}

describe('single-object codec with the pipeline schemas', () => {
  it('has edge rows for every captured table', () => {
    expect(Object.keys(EDGE_ROWS).sort()).toEqual(listSubjects());
  });

  describe.each(Object.keys(EDGE_ROWS) as EdgeSubject[])('%s', (subject) => {
    const schema = envelopeSchema(subject);
    const rows = EDGE_ROWS[subject] as readonly unknown[];

    it.each(['c', 'u', 'd', 'r', 't'] as const)('round-trips op %s exactly', async (op) => {
      const first = rows[0] ?? null;
      const last = rows.at(-1) ?? null;
      const envelope = edgeEnvelope(
        subject,
        op,
        op === 'c' || op === 'r' || op === 't' ? null : first,
        op === 'd' || op === 't' ? null : last,
      );
      const bytes = encodeSingleObject(schema, envelope);
      expect(bytes.subarray(0, 2)).toEqual(Buffer.from([0xc3, 0x01]));
      expect(bytes.subarray(2, 10)).toEqual(schema.fingerprint.bytes);
      expect(await decoderFor(schema).decode(bytes, schema)).toEqual(envelope);
    });
  });

  it('rejects a decimal that would need rounding, naming the field', () => {
    const schema = envelopeSchema('public.orders');
    const row = { ...firstEdgeRow('public.orders'), total: '10.005' };
    expect(() => encodeSingleObject(schema, edgeEnvelope('public.orders', 'c', null, row))).toThrow(InvalidValueError);
    expect(() => encodeSingleObject(schema, edgeEnvelope('public.orders', 'c', null, row))).toThrow(
      "value does not match schema pipeline.cdc.public.orders.Envelope: after.total: 10.005 has 3 fractional digits, the column's scale is 2: round it before writing",
    );
  });

  it('rejects a number where a decimal belongs: money never passes through floating point', () => {
    const schema = envelopeSchema('public.orders');
    const row = { ...firstEdgeRow('public.orders'), total: 19.99 };
    expect(() => encodeSingleObject(schema, edgeEnvelope('public.orders', 'c', null, row))).toThrow(/after\.total: /);
  });

  it('names a missing required field', () => {
    const schema = envelopeSchema('public.customers');
    const { email: _dropped, ...row } = firstEdgeRow('public.customers');
    expect(() => encodeSingleObject(schema, edgeEnvelope('public.customers', 'c', null, row))).toThrow(
      /after\.email: undefined \(missing\) is not a valid string/,
    );
  });
});

describe('bytes that are not single-object encoded: a not-retriable error naming what was wrong', () => {
  const schema = envelopeSchema('public.orders');
  const decoder = decoderFor(schema);

  it.each([
    ['empty', Buffer.alloc(0), 'empty message: expected Avro single-object encoding (C3 01 …)'],
    ['short', Buffer.from([0xc3, 0x01, 0x02]), 'message is 3 bytes, shorter than the 10-byte Avro single-object header'],
    [
      'JSON',
      Buffer.from('{"op":"c","after":{}}'),
      'message starts with 7b 22, not the Avro single-object marker c3 01 (it looks like JSON)',
    ],
    [
      'Confluent framing',
      Buffer.from([0, 0, 0, 0, 7, 2, 4, 6, 8, 10, 12]),
      'message starts with 00 00, not the Avro single-object marker c3 01 (a Confluent wire-format header?)',
    ],
    ['garbage', Buffer.from('garbage bytes!'), 'message starts with 67 61, not the Avro single-object marker c3 01'],
  ])('%s', async (_name, bytes, message) => {
    const error = await decoder.decode(bytes, schema).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotSingleObjectError);
    expect(error).toMatchObject({ message, retriable: false, code: 'NOT_SINGLE_OBJECT' });
  });

  it('a right header on a broken body is undecodable, not retriable', async () => {
    const bytes = encodeSingleObject(schema, edgeEnvelope('public.orders', 'c', null, firstEdgeRow('public.orders')));
    const error = await decoder.decode(bytes.subarray(0, 30), schema).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UndecodableError);
    expect(error).toMatchObject({ retriable: false });
    expect((error as Error).message).toMatch(
      /^body does not decode as pipeline\.cdc\.public\.orders\.Envelope \(fingerprint [0-9a-f]{16}\)/,
    );
  });

  it('an unknown fingerprint is a retriable error naming the fingerprint', async () => {
    const bytes = Buffer.concat([Buffer.from([0xc3, 0x01]), Buffer.from('0123456789abcdef', 'hex'), Buffer.from([0])]);
    const error = await decoder.decode(bytes, schema).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnknownSchemaError);
    expect(error).toMatchObject({ retriable: true, code: 'SCHEMA_UNKNOWN', fingerprint: '0123456789abcdef' });
    expect((error as Error).message).toContain('unknown schema fingerprint 0123456789abcdef');
    expect(readSingleObjectHeader(bytes).fingerprint.hex).toBe('0123456789abcdef');
  });
});

describe('schema resolution by fingerprint with the reader schema', () => {
  const v1 = parseSchema({
    type: 'record',
    name: 'Row',
    namespace: 'test.evolution',
    fields: [
      { name: 'id', type: 'string' },
      { name: 'qty', type: 'int' },
      { name: 'gone', type: ['null', 'string'], default: null },
    ],
  });
  const v2 = parseSchema({
    type: 'record',
    name: 'Row',
    namespace: 'test.evolution',
    fields: [
      { name: 'id', type: 'string' },
      { name: 'qty', type: 'long', doc: 'promoted from int' },
      { name: 'discount', type: ['null', { type: 'bytes', logicalType: 'decimal', precision: 12, scale: 2 }], default: null },
      { name: 'note', type: 'string', default: 'none' },
    ],
  });

  it('a consumer holding only v2 reads v1 data: added fields take their defaults, int promotes to long', async () => {
    const bytes = encodeSingleObject(v1, { id: 'a', qty: 3, gone: 'x' });
    expect(await decoderFor(v1, v2).decode(bytes, v2)).toEqual({ id: 'a', qty: 3, discount: null, note: 'none' });
  });

  it('a consumer holding only v1 reads v2 data once it knows the v2 writer schema: new fields are dropped', async () => {
    const bytes = encodeSingleObject(v2, { id: 'b', qty: 4, discount: '-1.50', note: 'n' });
    await expect(decoderFor(v1).decode(bytes, v1)).rejects.toBeInstanceOf(UnknownSchemaError);
    // v1 cannot read a long as an int: a promotion is one-way, so this pair is not forward compatible.
    await expect(decoderFor(v1, v2).decode(bytes, v1)).rejects.toThrow(
      /reader schema test\.evolution\.Row cannot read data written with test\.evolution\.Row/,
    );
  });

  it('refuses two schemas that share a fingerprint but differ in decimal scale', () => {
    const scale2 = parseSchema({
      type: 'record',
      name: 'P',
      fields: [{ name: 'v', type: { type: 'bytes', logicalType: 'decimal', precision: 9, scale: 2 } }],
    });
    const scale3 = parseSchema({
      type: 'record',
      name: 'P',
      fields: [{ name: 'v', type: { type: 'bytes', logicalType: 'decimal', precision: 9, scale: 3 } }],
    });
    expect(scale2.fingerprint.hex).toBe(scale3.fingerprint.hex);
    expect(() => new SchemaCatalog([scale2, scale3])).toThrow(
      `schemas P and P share fingerprint ${scale2.fingerprint.hex} but differ in logical types, precision or scale`,
    );
  });
});

describe('interoperability of the logical types', () => {
  it('writes timestamp-micros as the plain Avro long other implementations read', () => {
    const micros = parseSchema({ type: 'long', logicalType: 'timestamp-micros' });
    const plain = parseSchema('long');
    expect(micros.type.toBuffer('2026-11-29T17:35:04.123456Z')).toEqual(plain.type.toBuffer(1795973704123456));
    expect(micros.type.fromBuffer(plain.type.toBuffer(-1))).toBe('1969-12-31T23:59:59.999999Z');
  });

  it("writes decimal as the two's-complement unscaled integer other implementations read", () => {
    const decimal = parseSchema({ type: 'bytes', logicalType: 'decimal', precision: 12, scale: 2 });
    const bytes = parseSchema('bytes');
    expect(decimal.type.toBuffer('12.30')).toEqual(bytes.type.toBuffer(Buffer.from([0x04, 0xce])));
  });
});

describe('decoder resolver cache', () => {
  it('works with a new instance of the same reader schema (avsc ties a resolver to one Type instance)', async () => {
    const writer = envelopeSchema('public.suppliers');
    const bytes = encodeSingleObject(writer, edgeEnvelope('public.suppliers', 'c', null, firstEdgeRow('public.suppliers')));
    const decoder = decoderFor(writer);
    await decoder.decode(bytes, envelopeSchema('public.suppliers'));
    await expect(decoder.decode(bytes, envelopeSchema('public.suppliers'))).resolves.toMatchObject({ op: 'c' });
  });
});
