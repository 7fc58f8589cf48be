import { randomBytes } from 'node:crypto';
import { type DeadLetter, readTopicToEnd, SchemaResolver, toDeadLetter } from '@pipeline/kafka';
import { bundledSchemas, type Envelope, EnvelopeDecoder, isSnapshotEnd } from '@pipeline/schemas';
import { eventually, runPipeline, type TestDatabase, uniqueName } from '@pipeline/testing';
import { type OrderStack, orderStack, orderStatus, placeOrder } from '../services/order-processor/src/__tests__/harness';

/** A `jsonb` value of about 2 MB that does not compress (random), so PostgreSQL really sends 2 MB. */
const wideAttributes = () => JSON.stringify({ blob: randomBytes(1_536 * 1024).toString('base64') });

/** Every change on a topic, decoded as a consumer decodes it. */
async function changesOn(stack: OrderStack, topic: string): Promise<{ key: string | null; envelope: Envelope<Record<string, unknown>> }[]> {
  const decoder = new EnvelopeDecoder(
    new SchemaResolver({ kafka: stack.kafka, topic: stack.reader.schemaTopic, bundled: bundledSchemas() }).resolve,
  );
  const raw: { key: string | null; value: Buffer | null }[] = [];
  await readTopicToEnd(stack.kafka, topic, { onMessage: (m) => raw.push({ key: m.key?.toString() ?? null, value: m.value }) });
  const out = [];
  for (const { key, value } of raw) {
    const decoded = await decoder.decodeEvent<Record<string, unknown>>(value);
    if (!isSnapshotEnd(decoded)) out.push({ key, envelope: decoded.envelope });
  }
  return out;
}

async function letters(stack: OrderStack): Promise<DeadLetter[]> {
  const found: DeadLetter[] = [];
  await readTopicToEnd(stack.kafka, stack.reader.deadLetterTopic, { onMessage: (m, p) => found.push(toDeadLetter(m, p)) });
  return found;
}

async function inventoryId(db: TestDatabase, sku: string): Promise<string> {
  const { rows } = await db.pool.query<{ id: string }>('SELECT id FROM inventory WHERE sku = $1', [sku]);
  return rows[0]?.id as string;
}

/**
 * One wide row (a 2 MB jsonb, over Kafka's default 1 MB max.message.bytes) between two orders,
 * while streaming and again during the initial snapshot: nothing waits behind it. It arrives with
 * the value marked unavailable, a reader dead letter says what to do, the orders are handled, and
 * the slot's confirmed position moves past it.
 */
describe('a row too large for its topic', () => {
  const stacks: OrderStack[] = [];
  afterAll(async () => {
    for (const stack of stacks) await stack.close();
  }, 60_000);

  const checkWide = async (stack: OrderStack, sku: string, ops: string[]) => {
    const id = await inventoryId(stack.db, sku);
    const wide = (await changesOn(stack, `${stack.reader.prefix}.public.inventory`)).filter((c) => c.key === id);
    expect(wide.map((c) => c.envelope.op)).toEqual(ops);
    for (const { envelope } of wide) {
      expect(envelope.after?.sku).toBe(sku);
      expect(envelope.after?.attributes).toBe('__unavailable__');
      expect(envelope.unavailable).toContain('after.attributes');
      if (envelope.before) {
        expect(envelope.unavailable).toContain('before.attributes');
        expect(envelope.before.attributes).toBe('__unavailable__');
      }
    }
    const mine = (await letters(stack)).filter((l) => wide.some((c) => c.envelope.eventId === l.eventId));
    expect(mine).toHaveLength(ops.length);
    for (const letter of mine) {
      expect(letter.errorCode).toBe('CHANGE_TOO_LARGE');
      expect(letter.errorMessage).toMatch(
        /^a change to public\.inventory \(key [0-9a-f-]{36}, commit LSN [0-9A-F]+\/[0-9A-F]+\) is \d+ KiB as a record/,
      );
      expect(letter.errorMessage).toContain('attributes (2048 KiB) left out');
      expect(letter.errorMessage).toContain('raise max.message.bytes');
      expect(letter.errorMessage).toContain('keep such values out of captured columns');
      const body = JSON.parse(letter.value?.toString() ?? '{}') as { leftOut: { column: string; bytes: number }[]; produced: boolean };
      expect(body.produced).toBe(true);
      expect(body.leftOut.map((c) => c.column)).toContain('after.attributes');
      expect(letter.value?.length).toBeLessThan(10_000);
    }
    return wide;
  };

  it('while streaming: the orders around it are confirmed, it arrives without its value, and the slot moves past it', async () => {
    const stack = await orderStack('wide');
    stacks.push(stack);
    await stack.startProcessor();
    const before = await placeOrder(stack.db, { customer: { name: 'Before' }, items: [{ name: 'Mug', quantity: 1, price: '12.50' }] });
    const sku = uniqueName('wide');
    await stack.db.pool.query(
      `INSERT INTO inventory (sku, product_name, quantity, reorder_threshold, attributes) VALUES ($1, 'Wide', 10, 5, $2::jsonb)`,
      [sku, wideAttributes()],
    );
    await stack.db.pool.query('UPDATE inventory SET quantity = 4 WHERE sku = $1', [sku]);
    const after = await placeOrder(stack.db, { customer: { name: 'After' }, items: [{ name: 'Mug', quantity: 2, price: '12.50' }] });
    for (const order of [before, after]) {
      await eventually(
        `order ${order.orderId} confirmed`,
        async () => ((await orderStatus(stack.db, order.orderId)).status === 'confirmed' ? true : undefined),
        90_000,
      );
    }
    // Everything committed so far, the wide transactions included, is confirmed to the slot.
    await stack.reader.published(stack.db);
    const wide = await checkWide(stack, sku, ['c', 'u']);
    // An operator finds them where the reader's dead letters are.
    const listed = runPipeline(['dlq', 'list', '--service', 'cdc-reader', '--database-url', stack.db.url, '--json'], {
      CDC_DLQ_TOPIC: stack.reader.deadLetterTopic,
    });
    expect(listed.stderr).toBe('');
    const letters = JSON.parse(listed.stdout) as { eventId: string; error: string; status: string }[];
    for (const { envelope } of wide) {
      expect(letters.find((l) => l.eventId === envelope.eventId)).toMatchObject({
        status: 'open',
        error: expect.stringMatching(/^CHANGE_TOO_LARGE: a change to public\.inventory/),
      });
    }
  }, 180_000);

  it('with KAFKA_COMPRESSION=gzip, a value that compresses to fit arrives whole; one that does not, without it', async () => {
    const [stack] = stacks;
    if (!stack) throw new Error('the streaming test runs first');
    await stack.reader.restart({ KAFKA_COMPRESSION: 'gzip' });
    const compressible = uniqueName('gzip');
    const random = uniqueName('random');
    const repetitive = JSON.stringify({ blob: 'pipeline '.repeat(240_000) });
    await stack.db.pool.query(`INSERT INTO inventory (sku, product_name, quantity, attributes) VALUES ($1, 'Gzip', 10, $2::jsonb)`, [
      compressible,
      repetitive,
    ]);
    await stack.db.pool.query(`INSERT INTO inventory (sku, product_name, quantity, attributes) VALUES ($1, 'Random', 10, $2::jsonb)`, [
      random,
      wideAttributes(),
    ]);
    await stack.reader.published(stack.db);
    const changes = await changesOn(stack, `${stack.reader.prefix}.public.inventory`);
    const whole = changes.find((c) => c.envelope.after?.sku === compressible);
    expect(whole?.envelope.unavailable).toEqual([]);
    expect(JSON.parse(String(whole?.envelope.after?.attributes))).toEqual(JSON.parse(repetitive));
    await checkWide(stack, random, ['c']);
  }, 180_000);

  it('during the initial snapshot: the rows around it in its page and the orders arrive, it without its value', async () => {
    const sku = uniqueName('widesnap');
    const small = [uniqueName('small'), uniqueName('small')];
    const orders: string[] = [];
    const stack = await orderStack('widesnap', {
      beforeReader: async (db) => {
        orders.push((await placeOrder(db, { customer: { name: 'Before' }, items: [{ name: 'Mug', quantity: 1, price: '3.00' }] })).orderId);
        await db.pool.query(`INSERT INTO inventory (sku, product_name, quantity) VALUES ($1, 'Small', 10)`, [small[0]]);
        await db.pool.query(`INSERT INTO inventory (sku, product_name, quantity, attributes) VALUES ($1, 'Wide', 10, $2::jsonb)`, [
          sku,
          wideAttributes(),
        ]);
        await db.pool.query(`INSERT INTO inventory (sku, product_name, quantity) VALUES ($1, 'Small', 10)`, [small[1]]);
        orders.push((await placeOrder(db, { customer: { name: 'After' }, items: [{ name: 'Mug', quantity: 1, price: '3.00' }] })).orderId);
      },
    });
    stacks.push(stack);
    await stack.startProcessor();
    await stack.settled();
    const wide = await checkWide(stack, sku, ['r']);
    expect(wide[0]?.envelope.source.snapshot).toBe(true);
    const inventory = await changesOn(stack, `${stack.reader.prefix}.public.inventory`);
    for (const s of small) expect(inventory.filter((c) => c.envelope.after?.sku === s)).toHaveLength(1);
    const onTopic = await changesOn(stack, stack.topic);
    for (const id of orders) expect(onTopic.filter((c) => c.key === id).map((c) => c.envelope.op)).toEqual(['r']);
    // The processor handled both (snapshot rows are orders from before the pipeline: recorded, never emailed).
    const { rows } = await stack.db.pool.query<{ row_key: string; outcome: string }>(
      'SELECT row_key, outcome FROM event_outcomes WHERE consumer_group = $1 AND subject = $2',
      [stack.group, 'public.orders'],
    );
    for (const id of orders) expect(rows.filter((r) => r.row_key === id).map((r) => r.outcome)).toEqual(['skipped']);
  }, 180_000);
});
