import { dirname, join } from 'node:path';
import pdfmake from 'pdfmake';
import type { TDocumentDefinitions } from 'pdfmake/interfaces';
import { fromCents, lineTotal, sumCents } from './money';
import type { OrderView } from './order';

/** What the invoice shows besides the order. */
export interface Seller {
  name: string;
  address: string;
}

/**
 * Roboto, embedded in every PDF: it renders Latin (Polish included), Cyrillic and Greek; the 14
 * standard PDF fonts are Latin-1 only and garble the rest. pdfmake reads nothing else from disk
 * and fetches no URL.
 */
const FONT_DIR = join(dirname(require.resolve('pdfmake/package.json')), 'fonts', 'Roboto');
const FONT_FILES = {
  normal: join(FONT_DIR, 'Roboto-Regular.ttf'),
  bold: join(FONT_DIR, 'Roboto-Medium.ttf'),
  italics: join(FONT_DIR, 'Roboto-Italic.ttf'),
  bolditalics: join(FONT_DIR, 'Roboto-MediumItalic.ttf'),
};
const ALLOWED = new Set(Object.values(FONT_FILES));
let configured = false;

function configure(): void {
  if (configured) return;
  pdfmake.setFonts({ Roboto: FONT_FILES });
  pdfmake.setUrlAccessPolicy(() => false);
  pdfmake.setLocalAccessPolicy((path) => ALLOWED.has(path));
  configured = true;
}

/** A decimal amount with its currency code: "12.30 PLN" (the amounts are exact text). */
const money = (cents: bigint, currency: string) => `${fromCents(cents)} ${currency}`;

/** The invoice's document: seller, number, order, customer, items and total. Pure: the same order gives the same definition. */
export function invoiceDefinition(order: OrderView, invoiceNumber: string, seller: Seller): TDocumentDefinitions {
  const currency = order.currency;
  const lines = order.items.map((item) => ({ item, total: lineTotal(item.quantity, item.price) }));
  const total = sumCents(lines.map((line) => line.total));
  const issued = order.createdAt.toISOString().slice(0, 10);
  return {
    info: {
      title: `Invoice ${invoiceNumber}`,
      author: seller.name,
      subject: `Order ${order.id}`,
      // Fixed: the same order renders to the same bytes.
      creationDate: order.createdAt,
    },
    pageSize: 'A4',
    pageMargins: [48, 56, 48, 56],
    defaultStyle: { font: 'Roboto', fontSize: 10 },
    content: [
      {
        columns: [
          [
            { text: seller.name, style: 'seller' },
            { text: seller.address, color: '#555555' },
          ],
          [
            { text: 'INVOICE', style: 'title', alignment: 'right' },
            { text: `No. ${invoiceNumber}`, alignment: 'right' },
            { text: `Date: ${issued}`, alignment: 'right' },
          ],
        ],
      },
      { text: ' ', margin: [0, 8] },
      { text: 'Bill to', style: 'label' },
      { text: order.customer.name, bold: true },
      { text: order.customer.email },
      { text: `Order ${order.id}`, margin: [0, 8, 0, 12], color: '#555555' },
      {
        table: {
          headerRows: 1,
          widths: ['*', 50, 90, 90],
          body: [
            [
              { text: 'Item', style: 'th' },
              { text: 'Qty', style: 'th', alignment: 'right' },
              { text: 'Unit price', style: 'th', alignment: 'right' },
              { text: 'Line total', style: 'th', alignment: 'right' },
            ],
            ...lines.map(({ item, total: amount }) => [
              { text: item.name },
              { text: String(item.quantity), alignment: 'right' as const },
              { text: money(lineTotal(1, item.price), currency), alignment: 'right' as const },
              { text: money(amount, currency), alignment: 'right' as const },
            ]),
            [{ text: 'Total', bold: true, colSpan: 3 }, {}, {}, { text: money(total, currency), bold: true, alignment: 'right' as const }],
          ],
        },
        layout: 'lightHorizontalLines',
      },
      { text: 'Thank you for your order.', margin: [0, 24, 0, 0], color: '#555555' },
    ],
    styles: {
      seller: { fontSize: 14, bold: true },
      title: { fontSize: 18, bold: true },
      label: { fontSize: 8, color: '#777777' },
      th: { bold: true },
    },
  };
}

/** Renders the invoice to PDF bytes. */
export async function renderInvoice(order: OrderView, invoiceNumber: string, seller: Seller): Promise<Buffer> {
  configure();
  return pdfmake.createPdf(invoiceDefinition(order, invoiceNumber, seller)).getBuffer();
}
