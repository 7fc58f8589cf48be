import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderInvoice } from './invoice-pdf';
import type { OrderView } from './order';

/** The PDF's text as poppler's pdftotext reads it (Debian: poppler-utils; .ci/run installs it), NFC-normalised. */
function pdfText(pdf: Buffer): string {
  const file = join(mkdtempSync(join(tmpdir(), 'invoice-')), 'invoice.pdf');
  writeFileSync(file, pdf);
  try {
    return execFileSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' }).normalize('NFC');
  } catch (error) {
    throw new Error(`pdftotext failed (apt-get install poppler-utils): ${(error as Error).message}`);
  }
}

const order: OrderView = {
  id: '5f0c7a52-8d4e-4c1f-9a7b-1d2e3f405162',
  status: 'pending',
  total: '30.30',
  currency: 'PLN',
  createdAt: new Date('2026-12-01T10:00:00Z'),
  invoiceUrl: null,
  customer: { id: 'c', name: 'Łukasz Żółć', email: 'lukasz@example.com', locale: 'pl' },
  items: [
    { id: 'a', inventoryId: null, name: 'Zeszyt „Gęślą jaźń”', quantity: 1, price: '0.10' },
    { id: 'b', inventoryId: null, name: 'Карандаш чёрный', quantity: 1, price: '0.20' },
    { id: 'c', inventoryId: null, name: 'Μολύβι Ελληνικό', quantity: 3, price: '10.00' },
  ],
};
const seller = { name: 'Sklep Testowy', address: 'ul. Długa 1, 00-001 Warszawa' };

describe('the invoice PDF', () => {
  it('shows the seller, number, customer, every item with its line total and the exact total, in Polish, Cyrillic and Greek', async () => {
    const text = pdfText(await renderInvoice(order, 'INV-2026-000042', seller));
    for (const expected of [
      'Sklep Testowy',
      'ul. Długa 1, 00-001 Warszawa',
      'INVOICE',
      'No. INV-2026-000042',
      'Date: 2026-12-01',
      'Łukasz Żółć',
      'lukasz@example.com',
      `Order ${order.id}`,
      'Zeszyt „Gęślą jaźń”',
      'Карандаш чёрный',
      'Μολύβι Ελληνικό',
      '30.00 PLN',
    ]) {
      expect(text).toContain(expected);
    }
    expect(text).toMatch(/Total\s+30\.30 PLN/);
    expect(text).toMatch(/Μολύβι Ελληνικό\s+3\s+10\.00 PLN\s+30\.00 PLN/);
  });

  it('adds 0.10 and 0.20 to 0.30', async () => {
    const small = { ...order, total: '0.30', items: order.items.slice(0, 2) };
    expect(pdfText(await renderInvoice(small, 'INV-2026-000043', seller))).toMatch(/Total\s+0\.30 PLN/);
  });

  it('renders the same order to the same bytes', async () => {
    const [a, b] = await Promise.all([renderInvoice(order, 'INV-2026-000042', seller), renderInvoice(order, 'INV-2026-000042', seller)]);
    expect(a.equals(b)).toBe(true);
    expect(a.subarray(0, 5).toString()).toBe('%PDF-');
  });
});
