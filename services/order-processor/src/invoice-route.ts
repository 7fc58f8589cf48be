import type { HttpRoute } from '@pipeline/runtime';
import { checkInvoiceRequest } from './invoice-link';
import type { InvoiceStore } from './invoice-store';

/**
 * `GET /invoices/<order id>.pdf?expires=…&signature=…`: the stored PDF to whoever holds a valid
 * link. 404 for any other path (before a signature is looked at) and for an order without an
 * invoice; 403 for a missing, wrong or expired signature.
 */
export function invoiceRoute(store: InvoiceStore, secret: string, now: () => number = Date.now): HttpRoute {
  return {
    prefix: '/invoices/',
    handle: async (_request, response, url) => {
      const check = checkInvoiceRequest(url, secret, Math.floor(now() / 1000));
      const refuse = (status: number, reason: string) => {
        response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
        response.end(`${reason}\n`);
      };
      if (!check.ok) return refuse(check.status, check.reason);
      const bytes = await store.read(check.orderId);
      if (!bytes) return refuse(404, 'no such invoice');
      response.writeHead(200, {
        'content-type': 'application/pdf',
        'content-length': bytes.length,
        'content-disposition': `inline; filename="invoice-${check.orderId}.pdf"`,
        'cache-control': 'private, no-store',
        'x-content-type-options': 'nosniff',
      });
      response.end(bytes);
    },
  };
}
