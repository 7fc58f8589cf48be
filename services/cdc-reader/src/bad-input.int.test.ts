import { FAILURE_HEADERS } from '@pipeline/kafka';
import { runPipeline } from '@pipeline/testing';
import { consume, type ReaderFixture, readerFixture, startReader, waitStreaming } from './__tests__/harness';
import type { ReaderMetrics } from './metrics';
import type { CdcReader } from './reader';

describe('cdc-reader with rows the contract cannot carry, and a table that changes while streaming', () => {
  let fixture: ReaderFixture;
  let reader: CdcReader;
  let metrics: ReaderMetrics;
  let customer: string;

  beforeAll(async () => {
    fixture = await readerFixture('badinput');
    ({ reader, metrics } = startReader(fixture));
    await waitStreaming(reader);
    const { rows } = await fixture.db.pool.query<{ id: string }>(
      `INSERT INTO customers (email, name) VALUES ('x@example.com', 'X') RETURNING id::text`,
    );
    customer = rows[0]?.id as string;
  });
  afterAll(async () => {
    await reader.stop();
    await fixture.close();
  });

  it('sends a change it cannot encode to the dead-letter topic with the error, and loses no other event', async () => {
    await fixture.db.pool.query('BEGIN');
    await fixture.db.pool.query(`INSERT INTO orders (customer_id, total, status) VALUES ($1, 1.00, 'pending')`, [customer]);
    // numeric(12,2) accepts NaN; an Avro decimal cannot hold it.
    await fixture.db.pool.query(`INSERT INTO orders (customer_id, total, status) VALUES ($1, 'NaN', 'pending')`, [customer]);
    await fixture.db.pool.query(`INSERT INTO orders (customer_id, total, status) VALUES ($1, 3.00, 'pending')`, [customer]);
    await fixture.db.pool.query('COMMIT');
    await fixture.db.pool.query(`INSERT INTO orders (customer_id, total, status) VALUES ($1, 4.00, 'pending')`, [customer]);

    const orders = await consume(fixture, [fixture.topic('orders')], (r) => r.length >= 3);
    expect(orders.map((r) => r.envelope.after?.total).sort()).toEqual(['1.00', '3.00', '4.00']);

    const consumer = fixture.kafka.consumer({ groupId: `dlq-${fixture.slot}` });
    await consumer.connect();
    await consumer.subscribe({ topic: fixture.deadLetterTopic, fromBeginning: true });
    const letter = await new Promise<{ headers: Record<string, string>; value: Record<string, unknown> }>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) =>
          resolve({
            headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])),
            value: JSON.parse(String(message.value)),
          }),
      });
    });
    await consumer.disconnect();
    expect(letter.headers['error-message']).toBe('column total: NaN cannot be carried as a decimal');
    expect(letter.headers['source-table']).toBe('public.orders');
    expect(letter.headers['event-id']).toMatch(/^\d+:[0-9A-F]+\/[0-9A-F]+:1$/);
    expect(letter.value).toMatchObject({ table: 'public.orders', tag: 'insert', change: { new: { total: 'NaN', customer_id: customer } } });
    // Every table's series starts at 0; only the orders' counted the letter.
    const counted = (await metrics.deadLetters.get()).values.filter((v) => v.value > 0);
    expect(counted).toEqual([expect.objectContaining({ labels: { table: 'public.orders' }, value: 1 })]);
    // The ordinals stay as they would have been: the good rows around it keep ids 0 and 2.
    const inTx = orders.filter((r) => r.envelope.after?.total !== '4.00').map((r) => r.envelope.eventId.split(':').at(-1));
    expect(inTx.sort()).toEqual(['0', '2']);
    // The failure headers every dead letter has, so operators read it like a consumer's.
    expect(letter.headers).toMatchObject({
      [FAILURE_HEADERS.originalTopic]: fixture.topic('orders'),
      [FAILURE_HEADERS.errorCode]: 'UNENCODABLE_CHANGE',
      [FAILURE_HEADERS.errorMessage]: 'column total: NaN cannot be carried as a decimal',
      [FAILURE_HEADERS.consumerGroup]: 'cdc-reader',
    });
  });

  it('shows that dead letter to operators with pipeline dlq, and refuses to redrive it, saying why', async () => {
    const pipeline = (args: string[]) =>
      runPipeline([...args, '--service', 'cdc-reader', '--database-url', fixture.db.url], { CDC_DLQ_TOPIC: fixture.deadLetterTopic });
    const listed = pipeline(['dlq', 'list', '--json']);
    expect(listed.stderr).toBe('');
    const letters = JSON.parse(listed.stdout) as {
      at: string;
      eventId: string;
      sourceTopic: string;
      sourcePosition: string;
      error: string;
    }[];
    expect(letters).toEqual([
      expect.objectContaining({
        at: '0:0',
        sourceTopic: fixture.topic('orders'),
        sourcePosition: expect.stringMatching(/^LSN [0-9A-F]+\/[0-9A-F]+$/),
        error: 'UNENCODABLE_CHANGE: column total: NaN cannot be carried as a decimal',
      }),
    ]);
    expect(pipeline(['dlq', 'list']).stdout).toContain('UNENCODABLE_CHANGE: column total: NaN cannot be carried as a decimal');

    const shown = pipeline(['dlq', 'show', '--at', '0:0']);
    expect(shown.status).toBe(0);
    expect(shown.stdout).toContain('change (the cdc-reader could not encode it)');
    expect(shown.stdout).toContain('"total": "NaN"');
    const json = JSON.parse(pipeline(['dlq', 'show', '--at', '0:0', '--json']).stdout) as { change: { table: string; change: object } };
    expect(json.change).toMatchObject({ table: 'public.orders', tag: 'insert', change: { new: { total: 'NaN', customer_id: customer } } });

    const redrive = pipeline(['dlq', 'redrive']);
    expect(redrive.status).toBe(1);
    expect(redrive.stderr).toContain("the cdc-reader's dead letters cannot be redriven: each is a change it could not encode");
    expect(redrive.stderr).toContain('Fix the row at the source');
    const resolved = pipeline(['dlq', 'resolve', '--at', '0:0', '--note', 'total corrected at the source']);
    expect(resolved.status).toBe(0);
    expect(pipeline(['dlq', 'list']).stdout).toBe('no dead letters for cdc-reader (resolved ones are hidden; --all shows them)\n');
  });

  it('keeps streaming through ALTER TABLE ADD COLUMN: an unknown column is skipped with a warning and a metric', async () => {
    await fixture.db.pool.query('ALTER TABLE suppliers ADD COLUMN rating integer');
    await fixture.db.pool.query(`INSERT INTO suppliers (name, default_order_quantity, rating) VALUES ('After ALTER', 7, 5)`);
    const received = await consume(fixture, [fixture.topic('suppliers')], (r) => r.length >= 1);
    expect(received[0]?.envelope.after).toMatchObject({ name: 'After ALTER', default_order_quantity: 7 });
    expect(received[0]?.envelope.after).not.toHaveProperty('rating');
    const skipped = await metrics.unknownColumns.get();
    expect(skipped.values).toEqual([expect.objectContaining({ labels: { table: 'public.suppliers', column: 'rating' }, value: 1 })]);
    expect(reader.isStreaming).toBe(true);
  });
});
