import { eventually, uniqueName } from '@pipeline/testing';
import { emailsTo, type OrderStack, orderStack, orderStatus, placeOrder } from './__tests__/harness';

/**
 * Customers' stored addresses, well-formed and not (lists, display names, groups, CR/LF, empty,
 * too long, no domain), each on an order drawing one unit of stock: each gives exactly one email
 * to its one address, or exactly one INVALID_RECIPIENT dead letter that names the order and the
 * address, with nothing reserved or sent and the order left pending. No order waits for another.
 */
describe('one recipient per order, checked before anything is reserved', () => {
  let stack: OrderStack;
  beforeAll(async () => {
    stack = await orderStack('recipients');
    await stack.startProcessor();
  }, 120_000);
  afterAll(() => stack?.close(), 60_000);

  it('sends each valid address one email and dead-letters every other, saying what to do', async () => {
    const u = uniqueName('rcpt').replace('_', '.');
    const evil = `evil-${u}@y.example.com`;
    // [stored address, where the email goes, or undefined: refused]. A Unicode domain is sent in
    // punycode (recipient.unit.test.ts); the SES endpoint shows the To header decoded back to Unicode.
    const cases: [string, string | undefined][] = [
      [`${u}@example.com`, `${u}@example.com`],
      [`${u}.first+tag@mail.example.org`, `${u}.first+tag@mail.example.org`],
      [`o'${u}@example.ie`, `o'${u}@example.ie`],
      [`${u}@müller.de`, `${u}@müller.de`],
      [`${u}${'a'.repeat(64 - u.length)}@example.com`, `${u}${'a'.repeat(64 - u.length)}@example.com`],
      [`list1-${u}@x.example.com, ${evil}`, undefined],
      [`list2-${u}@x.example.com,${evil}`, undefined],
      [`"Boss" <${evil}>`, undefined],
      [`Boss-${u} <${evil}>`, undefined],
      [`team-${u}:a-${u}@x.example.com,${evil};`, undefined],
      [`crlf-${u}@example.com\r\nBcc: ${evil}`, undefined],
      [`lf-${u}@example.com\n`, undefined],
      ['', undefined],
      [`${u}${'a'.repeat(65 - u.length)}@example.com`, undefined],
      [`long-${u}@${'d'.repeat(62)}.${'e'.repeat(62)}.${'f'.repeat(62)}.${'g'.repeat(62)}.com`, undefined],
      [`nodomain-${u}`, undefined],
      [`local-${u}@localhost`, undefined],
    ];
    expect(cases.length).toBeGreaterThanOrEqual(15);
    const { rows } = await stack.db.pool.query<{ id: string }>(
      `INSERT INTO inventory (sku, product_name, quantity) VALUES ($1, 'Mug', 100) RETURNING id`,
      [uniqueName('sku')],
    );
    const inventoryId = rows[0]?.id as string;
    const orders = [];
    for (const [stored, to] of cases) {
      const { orderId } = await placeOrder(stack.db, {
        customer: { name: 'Recipient', email: stored },
        items: [{ name: 'Mug', quantity: 1, price: '4.00', inventoryId }],
      });
      orders.push({ orderId, stored, to });
    }
    const deadLetters = async () =>
      (
        await stack.db.pool.query<{ error: string }>(
          `SELECT error FROM event_outcomes WHERE consumer_group = $1 AND outcome = 'dead_lettered'`,
          [stack.group],
        )
      ).rows.map((r) => r.error);

    for (const { orderId, stored, to } of orders) {
      if (to) {
        await eventually(
          `order ${orderId} confirmed`,
          async () => ((await orderStatus(stack.db, orderId)).status === 'confirmed' ? true : undefined),
          60_000,
        );
        const mails = await eventually(`the email to ${to}`, async () => {
          const found = await emailsTo(to);
          return found.length > 0 ? found : undefined;
        });
        expect(mails).toHaveLength(1);
        expect(mails[0]?.destination.to).toEqual([to]);
      } else {
        const letter = await eventually(
          `the dead letter of ${orderId}`,
          async () => (await deadLetters()).find((e) => e.includes(orderId)),
          60_000,
        );
        expect(letter).toContain('INVALID_RECIPIENT');
        expect(letter).toContain(`its customer's address ${JSON.stringify(stored)} is not one valid address`);
        expect(letter).toContain('nothing was reserved or sent and the order stays pending');
        expect(letter).toContain('then redrive this letter (`pipeline dlq redrive --service order-processor`)');
        expect((await orderStatus(stack.db, orderId)).status).toBe('pending');
      }
    }
    await stack.settled();
    // Exactly one letter per refused order, no email to anyone a refused address named, and stock taken for the sent ones only.
    const letters = await deadLetters();
    for (const { orderId, to } of orders) expect(letters.filter((e) => e.includes(orderId))).toHaveLength(to ? 0 : 1);
    expect(await emailsTo(evil)).toEqual([]);
    for (const prefix of ['list1', 'list2', 'crlf', 'lf', 'long', 'nodomain', 'local', 'team', 'Boss']) {
      expect(await emailsTo(`${prefix}-${u}`)).toEqual([]);
    }
    const { rows: left } = await stack.db.pool.query<{ quantity: number }>('SELECT quantity FROM inventory WHERE id = $1', [inventoryId]);
    expect(left[0]?.quantity).toBe(100 - orders.filter((o) => o.to).length);
    const { rows: reserved } = await stack.db.pool.query<{ order_id: string }>('SELECT order_id FROM stock_reservations');
    expect(new Set(reserved.map((r) => r.order_id))).toEqual(new Set(orders.filter((o) => o.to).map((o) => o.orderId)));
  }, 180_000);
});
