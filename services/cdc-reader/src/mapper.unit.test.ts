import { encodeSingleObject, envelopeSchema, readRowSchema } from '@pipeline/schemas';
import { fieldKinds, UNAVAILABLE_TEXT } from './columns';
import { eventId, mapChange, mapDelete, mapInsert, mapTruncate, mapUpdate, type RowChange, rowChangeOf, type TxContext } from './mapper';
import type { RelationInfo } from './relation';

function relation(subject: string, identity: RelationInfo['replicaIdentity'], columns: { name: string; typeOid: number }[]): RelationInfo {
  const [schema, table] = subject.split('.') as [string, string];
  return {
    oid: 1,
    schema,
    table,
    subject,
    topic: `cdc.${subject}`,
    columns,
    columnTypes: new Map(columns.map((c) => [c.name, c.typeOid])),
    replicaIdentity: identity,
    primaryKey: ['id'],
    identityKey: identity === 'full' ? columns.map((c) => c.name) : ['id'],
    fields: fieldKinds(readRowSchema(subject).fields),
    writer: envelopeSchema(subject),
    unknownColumns: [],
  };
}

function tx(): TxContext {
  let ordinal = 0;
  return {
    db: 'pipeline',
    systemId: '7312345678901234567',
    commitLsn: '0/16B3748',
    xid: 3_000_000_000,
    commitTs: '2026-11-29 17:35:04.123456+00',
    nowMs: 1_795_973_704_500,
    nextOrdinal: () => ordinal++,
  };
}

const UUID = 2950;
const TEXT = 25;
const INT4 = 23;
const NUMERIC = 1700;
const TSTZ = 1184;
const JSONB = 3802;

const inventory = relation('public.inventory', 'full', [
  { name: 'id', typeOid: UUID },
  { name: 'sku', typeOid: TEXT },
  { name: 'product_name', typeOid: TEXT },
  { name: 'quantity', typeOid: INT4 },
  { name: 'reorder_threshold', typeOid: INT4 },
  { name: 'supplier_id', typeOid: UUID },
  { name: 'attributes', typeOid: JSONB },
  { name: 'updated_at', typeOid: TSTZ },
]);
const row = {
  id: 'a0000000-0000-4000-8000-000000000001',
  sku: 'SKU-1',
  product_name: 'Żółw',
  quantity: '5',
  reorder_threshold: '10',
  supplier_id: null,
  attributes: '{"big": 12345678901234567890.123}',
  updated_at: '2026-11-29 17:35:04.123456+00',
};

describe('mapping pgoutput changes to envelopes', () => {
  it('an insert: op c, after from the text values exactly, key = primary key', () => {
    const [event] = mapInsert(inventory, tx(), row);
    expect(event).toMatchObject({ topic: 'cdc.public.inventory', key: row.id });
    expect(event?.envelope).toMatchObject({
      op: 'c',
      before: null,
      after: { ...row, quantity: 5, reorder_threshold: 10, supplier_id: null },
      source: { db: 'pipeline', schema: 'public', table: 'inventory', lsn: '0/16B3748', txId: 3_000_000_000, snapshot: false },
      eventId: '7312345678901234567:0/16B3748:0',
      unavailable: [],
    });
    // The jsonb keeps every digit: it is never parsed into a float.
    expect(event?.envelope.after?.attributes).toBe('{"big": 12345678901234567890.123}');
    expect(() => encodeSingleObject(inventory.writer, event?.envelope)).not.toThrow();
  });

  it('an update under FULL identity: before and after; an unchanged TOAST value filled by the parser stays', () => {
    const [event] = mapUpdate(inventory, tx(), { key: null, old: row, new: { ...row, quantity: '4' } });
    expect(event?.envelope).toMatchObject({
      op: 'u',
      before: { quantity: 5 },
      after: { quantity: 4, attributes: row.attributes },
      unavailable: [],
    });
  });

  it('an unchanged TOAST value without an old row is marked unavailable, never missing', () => {
    const customers = relation('public.customers', 'default', [
      { name: 'id', typeOid: UUID },
      { name: 'email', typeOid: TEXT },
      { name: 'name', typeOid: TEXT },
      { name: 'locale', typeOid: TEXT },
      { name: 'created_at', typeOid: TSTZ },
    ]);
    const [event] = mapUpdate(customers, tx(), {
      key: null,
      old: null,
      new: { id: 'c1', email: 'a@b.c', name: undefined, locale: 'pl', created_at: '2026-01-01 00:00:00+00' },
    });
    expect(event?.envelope).toMatchObject({ op: 'u', before: null, after: { name: UNAVAILABLE_TEXT }, unavailable: ['after.name'] });
  });

  it('a delete without FULL identity: the key is real, every other column a listed placeholder', () => {
    const items = relation('public.order_items', 'default', [
      { name: 'id', typeOid: UUID },
      { name: 'order_id', typeOid: UUID },
      { name: 'inventory_id', typeOid: UUID },
      { name: 'name', typeOid: TEXT },
      { name: 'quantity', typeOid: INT4 },
      { name: 'price', typeOid: NUMERIC },
    ]);
    const [event] = mapDelete(items, tx(), { key: { id: 'i1' }, old: null });
    expect(event?.key).toBe('i1');
    expect(event?.envelope).toMatchObject({
      op: 'd',
      after: null,
      before: { id: 'i1', order_id: UNAVAILABLE_TEXT, inventory_id: null, name: UNAVAILABLE_TEXT, quantity: 0, price: '0.00' },
      unavailable: ['before.order_id', 'before.inventory_id', 'before.name', 'before.quantity', 'before.price'],
    });
    expect(() => encodeSingleObject(items.writer, event?.envelope)).not.toThrow();
  });

  it('a primary-key change is a delete on the old key and an insert on the new, each naming the other', () => {
    const events = mapUpdate(inventory, tx(), { key: null, old: row, new: { ...row, id: 'b0000000-0000-4000-8000-000000000002' } });
    expect(events.map((e) => [e.envelope.op, e.key, e.movedKey, e.envelope.eventId])).toEqual([
      ['d', row.id, 'b0000000-0000-4000-8000-000000000002', '7312345678901234567:0/16B3748:0'],
      ['c', 'b0000000-0000-4000-8000-000000000002', row.id, '7312345678901234567:0/16B3748:1'],
    ]);
    expect(events[0]?.envelope.before?.id).toBe(row.id);
    expect(events[1]?.envelope.after?.id).toBe('b0000000-0000-4000-8000-000000000002');
  });

  it('a truncate: a control record on every partition, keyed by kind, table and partition, ids distinct per partition', () => {
    const events = mapTruncate(inventory, tx(), 3);
    expect(events.map((e) => [e.partition, e.key, e.envelope.op, e.envelope.eventId])).toEqual([
      [0, '__control:truncate:public.inventory:0', 't', '7312345678901234567:0/16B3748:0:p0'],
      [1, '__control:truncate:public.inventory:1', 't', '7312345678901234567:0/16B3748:0:p1'],
      [2, '__control:truncate:public.inventory:2', 't', '7312345678901234567:0/16B3748:0:p2'],
    ]);
  });

  it('keys a change of a table without any key by its event id: every record has a key', () => {
    const keyless = { ...inventory, primaryKey: [], identityKey: [] };
    const [inserted] = mapInsert(keyless, tx(), row);
    expect(inserted?.key).toBe(inserted?.envelope.eventId);
    expect(inserted?.key).toBe('7312345678901234567:0/16B3748:0');
  });

  it('numbers events in a transaction in order, so a redelivery gives the same ids', () => {
    const first = tx();
    const second = tx();
    const ids = (t: TxContext) => [mapInsert(inventory, t, row), mapInsert(inventory, t, row)].flat().map((e) => e.envelope.eventId);
    expect(ids(first)).toEqual(ids(second));
    expect(eventId(first, 7)).toBe('7312345678901234567:0/16B3748:7');
  });

  it('refuses NULL in a NOT NULL field and a value that cannot be carried, naming the column', () => {
    expect(() => mapInsert(inventory, tx(), { ...row, sku: null })).toThrow('column sku: is NULL but its schema field is not nullable');
    expect(() => mapInsert(inventory, tx(), { ...row, updated_at: 'infinity' })).toThrow(
      'column updated_at: infinity cannot be carried as timestamp-micros',
    );
  });
});

describe('mapChange: one entry point for every kind of change', () => {
  const orders = relation('public.orders', 'full', [
    { name: 'id', typeOid: 2950 },
    { name: 'customer_id', typeOid: 2950 },
    { name: 'status', typeOid: 25 },
    { name: 'total', typeOid: 1700 },
    { name: 'currency', typeOid: 1042 },
    { name: 'invoice_url', typeOid: 25 },
    { name: 'confirmation_sent_at', typeOid: 1184 },
    { name: 'created_at', typeOid: 1184 },
  ]);
  const order = {
    id: '00000000-0000-4000-8000-000000000001',
    customer_id: '00000000-0000-4000-8000-000000000002',
    status: 'pending',
    total: '10.00',
    currency: 'USD',
    invoice_url: null,
    confirmation_sent_at: null,
    created_at: '2026-11-29 17:35:04.123456+00',
  };

  it.each<[string, RowChange, string[]]>([
    ['an insert', { tag: 'insert', new: order }, ['c']],
    ['an update', { tag: 'update', key: null, old: order, new: { ...order, status: 'confirmed' } }, ['u']],
    [
      'an update of the primary key',
      { tag: 'update', key: null, old: order, new: { ...order, id: '00000000-0000-4000-8000-000000000009' } },
      ['d', 'c'],
    ],
    ['a delete', { tag: 'delete', key: null, old: order }, ['d']],
    ['a truncate', { tag: 'truncate', partitions: 3 }, ['t', 't', 't']],
  ])('maps %s like its own mapper', (_, change, ops) => {
    expect(mapChange(orders, tx(), change).map((event) => event.envelope.op)).toEqual(ops);
  });

  it('reads pgoutput row messages as changes', () => {
    const relationMessage = { relationOid: 1 } as never;
    expect(rowChangeOf({ tag: 'insert', relation: relationMessage, new: order })).toEqual({ tag: 'insert', new: order });
    expect(rowChangeOf({ tag: 'update', relation: relationMessage, key: null, old: order, new: order })).toEqual({
      tag: 'update',
      key: null,
      old: order,
      new: order,
    });
    expect(rowChangeOf({ tag: 'delete', relation: relationMessage, key: { id: order.id }, old: null })).toEqual({
      tag: 'delete',
      key: { id: order.id },
      old: null,
    });
  });
});
