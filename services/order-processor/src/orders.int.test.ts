import { execFileSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventually, runPipeline, sharedStack } from '@pipeline/testing';
import { emailsTo, type OrderStack, orderStack, orderStatus, placeOrder } from './__tests__/harness';
import { signInvoiceLink } from './invoice-link';

/** The signed invoice link an email's text carries. */
function linkIn(text: string | undefined): URL {
  const found = /https?:\/\/\S+\/invoices\/[0-9a-f-]{36}\.pdf\?expires=\d+&signature=[A-Za-z0-9_-]+/.exec(text ?? '')?.[0];
  if (!found) throw new Error(`no invoice link in the email: ${text}`);
  return new URL(found);
}

function pdfText(pdf: Buffer, dir: string): string {
  const file = join(dir, `read-${Date.now()}.pdf`);
  writeFileSync(file, pdf);
  return execFileSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' }).normalize('NFC');
}

/**
 * SQL in, the real cdc-reader and broker, the compiled order-processor, the local SES endpoint:
 * new orders confirmed with their invoice and one email each, old orders left alone, links that
 * only open for their holder, and a replay that does nothing twice.
 */
describe('order-processor, end to end', () => {
  let stack: OrderStack;
  const oldCustomers: string[] = [];

  beforeAll(async () => {
    stack = await orderStack('ord', {
      // 100 orders from before the pipeline was switched on: they arrive as the snapshot.
      beforeReader: async (db) => {
        const { rows } = await db.pool.query<{ email: string }>(
          `WITH c AS (
             INSERT INTO customers (email, name) SELECT 'old-' || g || '-' || gen_random_uuid() || '@example.com', 'Old customer ' || g
               FROM generate_series(1, 100) g RETURNING id, email
           ), o AS (INSERT INTO orders (customer_id, total) SELECT id, 1.00 FROM c RETURNING id)
           INSERT INTO order_items (order_id, name, quantity, price) SELECT id, 'Old item', 1, 1.00 FROM o RETURNING (SELECT 1)`,
        );
        expect(rows).toHaveLength(100);
        const { rows: emails } = await db.pool.query<{ email: string }>(`SELECT email FROM customers WHERE email LIKE 'old-%'`);
        oldCustomers.push(...emails.map((row) => row.email));
      },
    });
    await stack.startProcessor();
  }, 120_000);
  afterAll(async () => {
    await stack?.close();
  });

  const confirmed = (orderId: string) =>
    eventually(`order ${orderId} confirmed`, async () => {
      const order = await orderStatus(stack.db, orderId);
      return order.status === 'confirmed' ? order : undefined;
    });

  it('switched on over 100 existing orders, it sends no email and leaves them as they are', async () => {
    await stack.settled();
    const { rows } = await stack.db.pool.query<{ status: string; n: string }>(
      `SELECT o.status, count(*) AS n FROM orders o JOIN customers c ON c.id = o.customer_id WHERE c.email LIKE 'old-%' GROUP BY o.status`,
    );
    expect(rows).toEqual([{ status: 'pending', n: '100' }]);
    for (const email of oldCustomers.slice(0, 5)) expect(await emailsTo(email)).toEqual([]);
    const { rows: outcomes } = await stack.db.pool.query<{ outcome: string; n: string }>(
      `SELECT outcome, count(*) AS n FROM event_outcomes WHERE consumer_group = $1 AND event_id LIKE '%:r:%' GROUP BY outcome`,
      [stack.group],
    );
    expect(outcomes).toEqual([{ outcome: 'skipped', n: '100' }]);
  }, 60_000);

  it('a new order with three items: its invoice shows everything, one email carries it and a link to the same bytes, the order is confirmed', async () => {
    const { rows: stocked } = await stack.db.pool.query<{ id: string }>(
      `INSERT INTO inventory (sku, product_name, quantity, reorder_threshold) VALUES ('ZESZYT-1', 'Zeszyt', 10, 1) RETURNING id`,
    );
    const { orderId, email } = await placeOrder(stack.db, {
      customer: { name: 'Łucja Żmijewska' },
      currency: 'PLN',
      items: [
        { name: 'Zeszyt „Gęślą jaźń”', quantity: 2, price: '0.10', inventoryId: stocked[0]?.id },
        { name: 'Карандаш', quantity: 1, price: '0.20' },
        { name: 'Μολύβι', quantity: 3, price: '19.99' },
      ],
    });
    const order = await confirmed(orderId);
    expect(order.confirmation_sent_at).toBeInstanceOf(Date);
    await stack.settled();
    expect((await stack.db.pool.query('SELECT quantity FROM inventory WHERE id = $1', [stocked[0]?.id])).rows).toEqual([{ quantity: 8 }]);
    expect((await stack.db.pool.query('SELECT quantity, released_at FROM stock_reservations WHERE order_id = $1', [orderId])).rows).toEqual(
      [{ quantity: 2, released_at: null }],
    );

    const emails = await emailsTo(email);
    expect(emails).toHaveLength(1);
    const [mail] = emails;
    expect(mail?.subject).toMatch(new RegExp(`^Your order ${orderId} is confirmed — invoice INV-\\d{4}-\\d{6}$`));
    expect(mail?.attachments).toHaveLength(1);
    const attached = Buffer.from(mail?.attachments[0]?.content ?? '', 'base64');
    expect(mail?.attachments[0]).toMatchObject({
      contentType: 'application/pdf',
      filename: expect.stringMatching(/^invoice-INV-\d{4}-\d{6}\.pdf$/),
    });

    const stored = readFileSync(join(stack.storeDir, `${orderId}.pdf`));
    expect(attached.equals(stored)).toBe(true);
    const text = pdfText(stored, stack.storeDir);
    for (const expected of ['Łucja Żmijewska', email, 'Zeszyt „Gęślą jaźń”', 'Карандаш', 'Μολύβι', '0.20 PLN', '59.97 PLN'])
      expect(text).toContain(expected);
    expect(text).toMatch(/Total\s+60\.37 PLN/);

    // The signed link is in the email only; orders.invoice_url (captured, sent to Kafka and webhooks) holds the bare address.
    const link = linkIn(mail?.body.text);
    expect(order.invoice_url).toBe(`${link.origin}${link.pathname}`);
    expect(order.invoice_url).not.toContain('signature');
    const port = stack.processors[0]?.port;
    const downloaded = await fetch(`http://127.0.0.1:${port}${link.pathname}${link.search}`);
    expect(downloaded.status).toBe(200);
    expect(downloaded.headers.get('content-type')).toBe('application/pdf');
    expect(Buffer.from(await downloaded.arrayBuffer()).equals(stored)).toBe(true);
    const { rows: invoices } = await stack.db.pool.query('SELECT invoice_number, sha256, size_bytes FROM invoices WHERE order_id = $1', [
      orderId,
    ]);
    expect(invoices).toEqual([{ invoice_number: expect.stringMatching(/^INV-/), sha256: expect.any(String), size_bytes: stored.length }]);
  }, 60_000);

  it('escapes a customer’s name in the HTML part, keeps & in the text part, and adds 0.10 and 0.20 to 0.30', async () => {
    const { orderId, email } = await placeOrder(stack.db, {
      customer: { name: '<script>alert(1)</script> & Sons' },
      items: [
        { name: 'Tea & biscuits', quantity: 1, price: '0.10' },
        { name: 'Milk', quantity: 1, price: '0.20' },
      ],
    });
    await confirmed(orderId);
    const [mail] = await emailsTo(email);
    expect(mail?.body.html).toContain('Dear &lt;script&gt;alert(1)&lt;/script&gt; &amp; Sons,');
    expect(mail?.body.html).not.toContain('<script>');
    expect(mail?.body.text).toContain('Dear <script>alert(1)</script> & Sons,');
    expect(mail?.body.text).toContain('- Tea & biscuits: 1 × $0.10 = $0.10');
    expect(mail?.body.text).toContain('Total: $0.30');
    expect(pdfText(readFileSync(join(stack.storeDir, `${orderId}.pdf`)), stack.storeDir)).toMatch(/Total\s+0\.30 USD/);
  }, 60_000);

  it('serves an invoice only to a valid link: tampered, expired and unsigned get 403, a path with .. or an unknown id 404', async () => {
    const { orderId, email } = await placeOrder(stack.db, {
      customer: { name: 'Link Tester' },
      items: [{ name: 'Thing', quantity: 1, price: '5.00' }],
    });
    await confirmed(orderId);
    const base = `http://127.0.0.1:${stack.processors[0]?.port}`;
    const link = linkIn((await emailsTo(email))[0]?.body.text);
    const get = async (path: string) => (await fetch(`${base}${path}`)).status;
    const expires = link.searchParams.get('expires');
    const signature = link.searchParams.get('signature') ?? '';
    expect(await get(`${link.pathname}${link.search}`)).toBe(200);
    expect(await get(`${link.pathname}?expires=${Number(expires) + 1}&signature=${signature}`)).toBe(403);
    expect(await get(`${link.pathname}?expires=${expires}&signature=${signature.slice(0, -2)}AA`)).toBe(403);
    expect(await get(link.pathname)).toBe(403);
    const expired = new URL(signInvoiceLink(base, stack.secret, orderId, Math.floor(Date.now() / 1000) - 1));
    expect(await get(`${expired.pathname}${expired.search}`)).toBe(403);
    expect(await get(`/invoices/..%2f..%2fetc%2fpasswd.pdf${link.search}`)).toBe(404);
    expect(await get(`/invoices/../${orderId}.pdf${link.search}`)).toBe(404);
    expect(await get(`/invoices/not-an-order.pdf${link.search}`)).toBe(404);
    // A valid signature for an order that has no invoice.
    const unknown = new URL(
      signInvoiceLink(base, stack.secret, '00000000-0000-4000-8000-000000000000', Math.floor(Date.now() / 1000) + 60),
    );
    expect(await get(`${unknown.pathname}${unknown.search}`)).toBe(404);

    // Support staff mint a fresh link: it opens the invoice; an order without one is refused, saying why.
    const cli = (args: string[]) =>
      runPipeline(['invoices', 'link', ...args, '--database-url', stack.db.url, '--json'], {
        INVOICE_LINK_SECRET: stack.secret,
        INVOICE_STORE_DIR: stack.storeDir,
        HTTP_PORT: String(stack.processors[0]?.port),
      });
    const minted = cli([orderId, '--ttl', '1h']);
    expect([minted.status, minted.stderr]).toEqual([0, '']);
    const fresh = JSON.parse(minted.stdout) as { url: string; expiresAt: string; invoiceNumber: string };
    expect(fresh.invoiceNumber).toMatch(/^INV-/);
    expect(Date.parse(fresh.expiresAt) - Date.now()).toBeGreaterThan(3_500_000);
    const freshUrl = new URL(fresh.url);
    expect(freshUrl.origin).toBe(base);
    expect(await get(`${freshUrl.pathname}${freshUrl.search}`)).toBe(200);
    const none = cli(['00000000-0000-4000-8000-000000000000']);
    expect(none.status).not.toBe(0);
    expect(none.stderr).toContain('has no stored invoice (yet)');
    expect(cli(['not-an-order']).stderr).toContain('expected an order id (a uuid)');
  }, 60_000);

  it('items short of the total are retried until they arrive; still short after the last retry, or over it at once, a dead letter naming both amounts', async () => {
    const deadLetter = (orderId: string) =>
      eventually(
        `the dead letter of ${orderId}`,
        async () => {
          const { rows } = await stack.db.pool.query<{ error: string; attempt: number }>(
            `SELECT error, attempt FROM event_outcomes WHERE consumer_group = $1 AND outcome = 'dead_lettered' AND error LIKE '%' || $2 || '%'`,
            [stack.group, orderId],
          );
          return rows[0];
        },
        30_000,
      );
    // The items come in a later transaction, in time for a retry.
    const late = await placeOrder(stack.db, {
      customer: { name: 'Late items' },
      total: '15.00',
      items: [{ name: 'First', quantity: 1, price: '5.00' }],
    });
    await eventually('the short order retried', async () => {
      const { rows } = await stack.db.pool.query(
        `SELECT 1 FROM event_outcomes WHERE consumer_group = $1 AND outcome = 'retried' AND error LIKE 'ORDER_ITEMS_SHORT%' AND error LIKE '%' || $2 || '%'`,
        [stack.group, late.orderId],
      );
      return rows.length > 0 ? true : undefined;
    });
    await stack.db.pool.query(`INSERT INTO order_items (order_id, name, quantity, price) VALUES ($1, 'Second', 2, 5.00)`, [late.orderId]);
    await confirmed(late.orderId);
    expect(await emailsTo(late.email)).toHaveLength(1);

    const never = await placeOrder(stack.db, {
      customer: { name: 'Never complete' },
      total: '20.00',
      items: [{ name: 'Only', quantity: 1, price: '7.50' }],
    });
    expect(await deadLetter(never.orderId)).toEqual({
      attempt: 4,
      error: expect.stringContaining(`ORDER_ITEMS_SHORT: order ${never.orderId}: its items sum to 7.50 USD but its total is 20.00 USD.`),
    });
    const over = await placeOrder(stack.db, {
      customer: { name: 'Too much' },
      total: '1.00',
      items: [{ name: 'Dear', quantity: 1, price: '3.00' }],
    });
    expect(await deadLetter(over.orderId)).toEqual({
      attempt: 1,
      error: expect.stringContaining(
        `ORDER_ITEMS_OVER_TOTAL: order ${over.orderId}: its items sum to 3.00 USD, more than its total of 1.00 USD.`,
      ),
    });
    for (const { orderId, email } of [never, over]) {
      expect((await orderStatus(stack.db, orderId)).status).toBe('pending');
      expect(await emailsTo(email)).toEqual([]);
    }
  }, 60_000);

  it('a replay of the orders topic from the earliest offset sends no second email, rewrites no invoice, takes no stock twice', async () => {
    await stack.settled();
    const { rows: emails } = await stack.db.pool.query<{ email: string }>(
      `SELECT c.email FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.status = 'confirmed'`,
    );
    const before = await Promise.all(emails.map(async ({ email }) => (await emailsTo(email)).length));
    const invoices = (await stack.db.pool.query<{ order_id: string }>('SELECT order_id FROM invoices')).rows.map((row) => row.order_id);
    const mtimes = invoices.map((id) => statSync(join(stack.storeDir, `${id}.pdf`)).mtimeMs);
    const stock = (await stack.db.pool.query('SELECT id, quantity FROM inventory ORDER BY id')).rows;
    expect(stock).toEqual([{ id: expect.any(String), quantity: 8 }]);

    // What happened so far, as /metrics shows it.
    const metrics = await (await fetch(`http://127.0.0.1:${stack.processors[0]?.port}/metrics`)).text();
    const value = (series: string) => Number(new RegExp(`^${series.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(metrics)?.[1]);
    expect(value('orders_confirmed_total{service="order-processor"}')).toBe(emails.length);
    expect(value('emails_sent_total{kind="confirmation",service="order-processor"}')).toBe(emails.length);
    expect(value('emails_sent_total{kind="shipped",service="order-processor"}')).toBe(0);
    expect(value('orders_on_hold_total{service="order-processor"}')).toBe(0);
    expect(value('invoice_render_seconds_count{service="order-processor"}')).toBe(emails.length);
    expect(value('ses_request_seconds_count{service="order-processor",outcome="sent"}')).toBe(emails.length);
    expect(value('ses_errors_total{code="Throttling",service="order-processor"}')).toBe(0);
    await Promise.all(stack.processors.splice(0).map((processor) => processor.stop()));
    const replay = runPipeline(['replay', '--group', stack.group, '--topic', stack.topic, '--earliest', '--execute'], {
      DATABASE_URL: stack.db.url,
      KAFKA_BROKERS: sharedStack().endpoints.kafkaBrokers.join(','),
    });
    expect(replay.stderr).toBe('');
    expect(replay.status).toBe(0);
    await stack.startProcessor();
    await stack.settled();

    expect(await Promise.all(emails.map(async ({ email }) => (await emailsTo(email)).length))).toEqual(before);
    expect(invoices.map((id) => statSync(join(stack.storeDir, `${id}.pdf`)).mtimeMs)).toEqual(mtimes);
    expect((await stack.db.pool.query('SELECT id, quantity FROM inventory ORDER BY id')).rows).toEqual(stock);
    const { rows: outcomes } = await stack.db.pool.query<{ event_id: string }>(
      `SELECT event_id FROM event_outcomes WHERE consumer_group = $1 AND outcome = 'processed' GROUP BY event_id HAVING count(*) > 1`,
      [stack.group],
    );
    expect(outcomes).toEqual([]);
  }, 120_000);
});
