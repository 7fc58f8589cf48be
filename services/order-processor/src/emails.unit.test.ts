import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emailData } from './email-data';
import { EmailTemplates, TEMPLATE_DIR } from './emails';
import type { OrderView } from './order';

const order = (over: Partial<OrderView['customer']> = {}): OrderView => ({
  id: '5f0c7a52-8d4e-4c1f-9a7b-1d2e3f405162',
  status: 'pending',
  total: '0.30',
  currency: 'USD',
  createdAt: new Date('2026-12-01T10:00:00Z'),
  invoiceUrl: null,
  customer: { id: 'c', name: 'Ada & Co', email: 'ada@example.com', locale: 'en', ...over },
  items: [
    { id: 'a', inventoryId: null, name: 'Pen & paper', quantity: 1, price: '0.10' },
    { id: 'b', inventoryId: null, name: 'Ink', quantity: 1, price: '0.20' },
  ],
});
const invoice = {
  number: 'INV-2026-000001',
  url: 'http://127.0.0.1:9102/invoices/x.pdf?expires=1&signature=s',
  expiresAt: new Date('2026-12-31T00:00:00Z'),
};

describe('email templates', () => {
  const templates = new EmailTemplates();

  it('escape what a customer wrote in the HTML part and leave the text part as written', () => {
    const email = templates.render('confirmation', emailData(order({ name: '<script>alert(1)</script> & Co' }), 'Shop', invoice));
    expect(email.html).toContain('Dear &lt;script&gt;alert(1)&lt;/script&gt; &amp; Co,');
    expect(email.html).not.toContain('<script>');
    expect(email.text).toContain('Dear <script>alert(1)</script> & Co,');
    expect(email.text).toContain('- Pen & paper: 1 × $0.10 = $0.10');
    expect(email.text).toContain('Total: $0.30');
    expect(email.subject).toBe('Your order 5f0c7a52-8d4e-4c1f-9a7b-1d2e3f405162 is confirmed — invoice INV-2026-000001');
    expect(email.html).toContain(`<a href="${invoice.url.replace(/=/g, '&#x3D;').replace(/&s/g, '&amp;s')}">download it here</a>`);
    expect(email.text).toContain(invoice.url);
  });

  it('render the status emails', () => {
    expect(templates.render('shipped', emailData(order(), 'Shop')).text).toContain(
      'your order 5f0c7a52-8d4e-4c1f-9a7b-1d2e3f405162 ($0.30) has left our warehouse',
    );
    expect(templates.render('cancelled', emailData(order(), 'Shop')).subject).toBe(
      'Your order 5f0c7a52-8d4e-4c1f-9a7b-1d2e3f405162 was cancelled',
    );
  });

  it('are strict: a field the data lacks is an error, at start', () => {
    const dir = mkdtempSync(join(tmpdir(), 'templates-'));
    for (const file of readdirSync(TEMPLATE_DIR)) writeFileSync(join(dir, file), readFileSync(join(TEMPLATE_DIR, file)));
    writeFileSync(join(dir, 'shipped.text.hbs'), 'Dear {{customerNmae}}');
    expect(() => new EmailTemplates(dir)).toThrow(/"customerNmae" not defined/);
  });
});
