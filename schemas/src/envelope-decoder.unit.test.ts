import { type ParsedSchema, parseSchema } from './avro';
import { SchemaCatalog } from './catalog';
import { encodeSingleObject } from './codec';
import { EnvelopeDecoder, subjectOfEnvelope } from './envelope-decoder';
import { NotSingleObjectError, UnknownSchemaError } from './errors';
import { envelopeSchema, readReleased } from './files';
import { edgeEnvelope, firstEdgeRow, snapshotEndFixture } from './fixtures';
import type { Envelope } from './generated/types';
import { snapshotEndSchema } from './snapshot-end';
import { InvalidEnvelopeError } from './validate';

const orders = envelopeSchema('public.orders');
const row = firstEdgeRow('public.orders');

function decoderOf(...schemas: ParsedSchema[]): EnvelopeDecoder {
  const catalog = new SchemaCatalog(schemas);
  return new EnvelopeDecoder(async (fp) => {
    const found = catalog.get(fp.hex);
    if (!found) throw new UnknownSchemaError(fp.hex, 'the test catalog');
    return found;
  });
}

async function rejection(envelope: Envelope<unknown>): Promise<InvalidEnvelopeError> {
  const error = await decoderOf(orders)
    .decode(encodeSingleObject(orders, envelope))
    .catch((e: unknown) => e);
  expect(error).toBeInstanceOf(InvalidEnvelopeError);
  return error as InvalidEnvelopeError;
}

describe('EnvelopeDecoder', () => {
  it('names the subject from the writer schema', () => {
    expect(subjectOfEnvelope('pipeline.cdc.public.order_items.Envelope')).toBe('public.order_items');
    expect(subjectOfEnvelope('pipeline.cdc.Source')).toBeUndefined();
  });

  it.each([
    ['c', null, row],
    ['u', row, row],
    ['u', null, row],
    ['d', row, null],
    ['t', null, null],
    ['r', null, row],
  ] as const)('accepts a valid op %s envelope and names its table', async (op, before, after) => {
    const envelope = edgeEnvelope('public.orders', op, before, after);
    await expect(decoderOf(orders).decode(encodeSingleObject(orders, envelope))).resolves.toEqual({ subject: 'public.orders', envelope });
  });

  it('reads an envelope written with a released older schema with the current one (v1 lacks unavailable)', async () => {
    const v1 = parseSchema(readReleased('public.orders').find((r) => r.version === 1)?.json);
    const { unavailable: _, ...old } = edgeEnvelope('public.orders', 'c', null, row);
    const decoded = await decoderOf(orders, v1).decode(encodeSingleObject(v1, old));
    expect(decoded.envelope).toEqual({ ...old, unavailable: [] });
  });

  it.each([
    ['an insert without after', { ...edgeEnvelope('public.orders', 'c', null, null) }, 'op c without after'],
    ['a delete with an after row', edgeEnvelope('public.orders', 'd', row, row), 'op d with an after row'],
    ['an empty event id', { ...edgeEnvelope('public.orders', 'c', null, row), eventId: '' }, 'eventId is empty'],
    [
      'a change filed under another table',
      edgeEnvelope('public.customers', 'c', null, row),
      "source names public.customers, but the schema is public.orders's",
    ],
    [
      'a snapshot flag on an insert',
      { ...edgeEnvelope('public.orders', 'c', null, row), source: { ...edgeEnvelope('public.orders', 'r', null, row).source } },
      'source.snapshot is true with op c',
    ],
    [
      'an unavailable entry that is not a column',
      { ...edgeEnvelope('public.orders', 'u', row, row), unavailable: ['after.no_such_column'] },
      'unavailable names "after.no_such_column"',
    ],
    [
      'an LSN that is not one',
      { ...edgeEnvelope('public.orders', 'c', null, row), source: { ...edgeEnvelope('public.orders', 'c', null, row).source, lsn: '12' } },
      'source.lsn "12" is not an LSN',
    ],
  ])('refuses %s, not retriable, saying what to do', async (_, envelope, problem) => {
    const error = await rejection(envelope as Envelope<unknown>);
    expect(error.message).toContain(problem);
    expect(error.message).toContain('fix the writer, then redrive it');
    expect(error.retriable).toBe(false);
    expect(error.code).toBe('INVALID_ENVELOPE');
  });

  it('refuses a record whose schema is not a change envelope', async () => {
    const other = parseSchema({ type: 'record', name: 'Thing', namespace: 'acme', fields: [{ name: 'id', type: 'string' }] });
    const error = await decoderOf(other)
      .decode(encodeSingleObject(other, { id: 'x' }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidEnvelopeError);
    expect((error as Error).message).toContain('acme.Thing');
  });

  it('reads the end of a snapshot as a control record with decodeEvent; decode refuses it as not a change', async () => {
    const record = { ...snapshotEndFixture('public.orders', 2, 3, '0/16B3748'), rows: 1200 };
    const bytes = encodeSingleObject(snapshotEndSchema(), record);
    const decoder = decoderOf(orders, snapshotEndSchema());
    await expect(decoder.decodeEvent(bytes)).resolves.toEqual({ kind: 'snapshot-end', subject: 'public.orders', ...record });
    expect(record.eventId).toBe('7301:0/16B3748:e:public.orders:p2');
    const error = await decoder.decode(bytes).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidEnvelopeError);
    expect((error as Error).message).toContain('this is a control record (snapshot-end: the end of a snapshot on partition 2)');
    await expect(decoder.decodeEvent(encodeSingleObject(orders, edgeEnvelope('public.orders', 'c', null, row)))).resolves.toMatchObject({
      subject: 'public.orders',
    });
  });

  it('passes on the codec errors: JSON is not single-object (DLQ), an unknown fingerprint is retriable', async () => {
    await expect(decoderOf(orders).decode(Buffer.from('{"id":1}'))).rejects.toBeInstanceOf(NotSingleObjectError);
    const error = await decoderOf()
      .decode(encodeSingleObject(orders, edgeEnvelope('public.orders', 'c', null, row)))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnknownSchemaError);
    expect((error as UnknownSchemaError).retriable).toBe(true);
  });
});
