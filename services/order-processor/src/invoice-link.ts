import { createHmac, timingSafeEqual } from 'node:crypto';
import { isUuid } from '@pipeline/runtime';

/**
 * Signed invoice links: `/invoices/<order id>.pdf?expires=<unix seconds>&signature=<base64url>`,
 * the signature an HMAC-SHA256 over the path and the expiry with INVOICE_LINK_SECRET. A link is a
 * bearer token: it is minted (for the email, or `pipeline invoices link`), never stored; the order
 * keeps only the invoice's address (`invoiceAddress`), which opens nothing by itself.
 */
const PATH = /^\/invoices\/([^/]+)\.pdf$/;

export const invoicePath = (orderId: string): string => `/invoices/${orderId}.pdf`;

/** Where an order's invoice is served, without a signature: what `orders.invoice_url` holds. */
export const invoiceAddress = (baseUrl: string, orderId: string): string => `${baseUrl}${invoicePath(orderId)}`;

function signature(secret: string, path: string, expires: number): Buffer {
  return createHmac('sha256', secret).update(`${path}\n${expires}`).digest();
}

/** The link to an order's invoice, valid until `expiresAt` (unix seconds). */
export function signInvoiceLink(baseUrl: string, secret: string, orderId: string, expiresAt: number): string {
  const path = invoicePath(orderId);
  return `${baseUrl}${path}?expires=${expiresAt}&signature=${signature(secret, path, expiresAt).toString('base64url')}`;
}

export type LinkCheck = { ok: true; orderId: string } | { ok: false; status: 404 | 403; reason: string };

/**
 * Checks a request for an invoice. A path that is not `/invoices/<uuid>.pdf` is 404 before any
 * signature is looked at; a missing, malformed, wrong or expired signature is 403. The signature
 * is compared in constant time.
 */
export function checkInvoiceRequest(url: URL, secret: string, nowSeconds: number): LinkCheck {
  const match = PATH.exec(url.pathname);
  const orderId = match?.[1];
  if (!orderId || !isUuid(orderId)) return { ok: false, status: 404, reason: 'no such invoice' };
  const expiresText = url.searchParams.get('expires');
  const given = url.searchParams.get('signature');
  if (!expiresText || !given) return { ok: false, status: 403, reason: 'the link is not signed' };
  // Only the spelling the signer wrote: no leading zeros, so one link has one form.
  if (!/^[1-9]\d{0,11}$/.test(expiresText)) return { ok: false, status: 403, reason: 'the link is not valid' };
  const expires = Number(expiresText);
  // Compared as the canonical text: base64url decoding ignores the unused bits of the last
  // character, so several spellings decode to the same bytes; only the one we wrote is valid.
  const expected = Buffer.from(signature(secret, url.pathname, expires).toString('base64url'));
  const actual = Buffer.from(given);
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected))
    return { ok: false, status: 403, reason: 'the link is not valid' };
  if (expires < nowSeconds) return { ok: false, status: 403, reason: 'the link has expired: ask for a new one' };
  return { ok: true, orderId };
}
