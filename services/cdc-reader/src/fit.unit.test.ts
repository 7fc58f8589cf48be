import { RECORD_BATCH_OVERHEAD_BYTES, recordBytes } from '@pipeline/kafka';
import { type ParsedSchema, SingleObjectDecoder } from '@pipeline/schemas';
import { fixedTx, schemaRelation } from './__tests__/relations';
import { chunkRecords } from './chunks';
import { fitChange } from './fit';
import { mapInsert, mapUpdate } from './mapper';
import type { BuiltRecord } from './records';
import { CONSUMER_COPY_HEADROOM_BYTES, TopicBudgets } from './topic-budget';

const inventory = schemaRelation('public.inventory');
const table = { fields: inventory.fields, keyColumns: ['id'], writer: inventory.writer };
const tx = fixedTx;

const row = (attributes: string, productName = 'Mug') => ({
  id: 'a0000000-0000-4000-8000-000000000001',
  sku: 'SKU-1',
  product_name: productName,
  quantity: '5',
  reorder_threshold: '10',
  supplier_id: null,
  attributes,
  updated_at: '2026-11-29 17:35:04.123456+00',
});
const big = (bytes: number) => JSON.stringify({ blob: 'x'.repeat(bytes) });
const decode = (record: BuiltRecord, schema: ParsedSchema = inventory.writer) =>
  new SingleObjectDecoder(async () => schema).decode(record.message.value as Buffer, schema) as Promise<Record<string, unknown>>;

describe('fitting a change into its topic', () => {
  it('leaves a change that fits as it is', () => {
    const [event] = mapInsert(inventory, tx(), row(big(10)));
    const fit = fitChange(event as never, table, 'trace', { maxRecordBytes: 100_000 });
    expect(fit.kind).toBe('fits');
  });

  it('leaves out the largest value, listed in unavailable, until it fits; the key and small values stay', async () => {
    const [event] = mapInsert(inventory, tx(), row(big(200_000), 'p'.repeat(50_000)));
    const fit = fitChange(event as never, table, 'trace', { maxRecordBytes: 100_000 });
    if (fit.kind !== 'shrunk') throw new Error(`expected shrunk, got ${fit.kind}`);
    expect(fit.leftOut).toEqual([{ column: 'after.attributes', bytes: 200_011 }]);
    expect(fit.record.bytes).toBeLessThanOrEqual(100_000);
    expect(fit.record.bytes).toBe(recordBytes(fit.record.message));
    expect(fit.originalBytes).toBeGreaterThan(250_000);
    const envelope = (await decode(fit.record)) as { after: Record<string, unknown>; unavailable: string[] };
    expect(envelope.after.attributes).toBe('__unavailable__');
    expect(envelope.after.product_name).toBe('p'.repeat(50_000));
    expect(envelope.after.id).toBe('a0000000-0000-4000-8000-000000000001');
    expect(envelope.unavailable).toEqual(['after.attributes']);
  });

  it('leaves out both sides of an update, the largest first, as many as needed', async () => {
    const [event] = mapUpdate(inventory, tx(), {
      key: null,
      old: row(big(80_000), 'q'.repeat(10_000)),
      new: row(big(90_000), 'q'.repeat(10_000)),
    });
    const fit = fitChange(event as never, table, 'trace', { maxRecordBytes: 50_000 });
    if (fit.kind !== 'shrunk') throw new Error(`expected shrunk, got ${fit.kind}`);
    expect(fit.leftOut.map((l) => l.column)).toEqual(['after.attributes', 'before.attributes']);
    const envelope = (await decode(fit.record)) as { unavailable: string[] };
    expect(envelope.unavailable).toEqual(['after.attributes', 'before.attributes']);
  });

  it('keeps what PostgreSQL already did not send in unavailable', async () => {
    const [event] = mapUpdate(inventory, tx(), {
      key: null,
      old: null,
      new: { ...row(big(120_000)), product_name: undefined } as never,
    });
    const fit = fitChange(event as never, table, 'trace', { maxRecordBytes: 50_000 });
    if (fit.kind !== 'shrunk') throw new Error(`expected shrunk, got ${fit.kind}`);
    expect(((await decode(fit.record)) as { unavailable: string[] }).unavailable).toEqual(['after.product_name', 'after.attributes']);
  });

  it('says when even the key alone does not fit', () => {
    const [event] = mapInsert(inventory, tx(), row(big(10)));
    const fit = fitChange(event as never, table, 'trace', { maxRecordBytes: 200 });
    expect(fit.kind).toBe('too-large');
    if (fit.kind === 'too-large') expect(fit.columns.map((c) => c.column)).toContain('after.attributes');
  });

  it('produces a record that fits only compressed whole', () => {
    const [event] = mapInsert(inventory, tx(), row(big(300_000)));
    const fit = fitChange(event as never, table, 'trace', { maxRecordBytes: 100_000, fitsCompressed: () => true });
    expect(fit.kind).toBe('fits');
  });
});

describe('topic budgets', () => {
  const budgets = (compressed: boolean) => new TopicBudgets(new Map([['t', 1_048_588]]), compressed);

  it('bounds a batch by the topic’s max.message.bytes, and a record leaves a consumer room to copy it', () => {
    expect(budgets(false).batchBytes('t')).toBe(1_048_588);
    expect(budgets(false).recordBytes('t')).toBe(1_048_588 - RECORD_BATCH_OVERHEAD_BYTES - CONSUMER_COPY_HEADROOM_BYTES);
    expect(budgets(false).limit('unknown')).toBe(1_048_588);
  });

  it('keeps gzip’s worst case free when compressing, and lets a compressible record through only compressed', () => {
    expect(budgets(true).batchBytes('t')).toBeLessThan(1_048_588 - 320);
    const budget = budgets(true).recordBudget('t');
    const compressible = { bytes: 2_000_000, message: { key: 'k', value: Buffer.alloc(2_000_000, 0x61) } };
    const random = {
      bytes: 2_000_000,
      message: { key: 'k', value: Buffer.from(Array.from({ length: 2_000_000 }, () => Math.floor(Math.random() * 256))) },
    };
    expect(budget.fitsCompressed?.(compressible)).toBe(true);
    expect(budget.fitsCompressed?.(random)).toBe(false);
    expect(budgets(false).recordBudget('t').fitsCompressed).toBeUndefined();
  });
});

describe('record sizes and sends within a limit', () => {
  it('counts key, value, headers and the longest varints', () => {
    expect(recordBytes({ key: 'ab', value: Buffer.alloc(10), headers: { h: 'xyz' } })).toBe(36 + 2 + 10 + 10 + 1 + 3);
    expect(recordBytes({ key: null, value: null })).toBe(36);
    expect(recordBytes({ key: 'é', value: 'ü' })).toBe(36 + 2 + 2);
  });

  it('cuts records into sends whose batch stays within the limit, in order; a larger one goes alone', () => {
    const r = (bytes: number, id: string): BuiltRecord => ({ bytes, message: { key: id, value: null } });
    const chunks = chunkRecords([r(400, 'a'), r(400, 'b'), r(400, 'c'), r(5_000, 'big'), r(10, 'd')], 1_000);
    expect(chunks.map((c) => c.map((x) => x.message.key))).toEqual([['a', 'b'], ['c'], ['big'], ['d']]);
    for (const chunk of chunks.filter((c) => c.length > 1)) {
      expect(RECORD_BATCH_OVERHEAD_BYTES + chunk.reduce((sum, x) => sum + x.bytes, 0)).toBeLessThanOrEqual(1_000);
    }
  });
});
