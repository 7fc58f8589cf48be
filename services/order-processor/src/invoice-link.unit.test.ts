import fc from 'fast-check';
import { checkInvoiceRequest, invoiceAddress, signInvoiceLink } from './invoice-link';

const SECRET = 'k'.repeat(40);
const ORDER = '5f0c7a52-8d4e-4c1f-9a7b-1d2e3f405162';
const NOW = 1_800_000_000;

describe('signed invoice links', () => {
  const link = new URL(signInvoiceLink('https://shop.example.com', SECRET, ORDER, NOW + 60));

  it('a link it signed is accepted until it expires', () => {
    expect(link.pathname).toBe(`/invoices/${ORDER}.pdf`);
    expect(checkInvoiceRequest(link, SECRET, NOW)).toEqual({ ok: true, orderId: ORDER });
    expect(checkInvoiceRequest(link, SECRET, NOW + 60)).toEqual({ ok: true, orderId: ORDER });
    expect(checkInvoiceRequest(link, SECRET, NOW + 61)).toEqual({
      ok: false,
      status: 403,
      reason: 'the link has expired: ask for a new one',
    });
  });

  it.each<[string, (url: URL) => void, 403 | 404]>([
    ['a tampered expiry', (url) => url.searchParams.set('expires', String(NOW + 6000)), 403],
    ['a tampered signature', (url) => url.searchParams.set('signature', `A${url.searchParams.get('signature')?.slice(1)}`), 403],
    ['a signature of another order', (url) => (url.pathname = '/invoices/0b6d2a4e-1111-4c1f-9a7b-1d2e3f405162.pdf'), 403],
    ['no signature', (url) => url.searchParams.delete('signature'), 403],
    ['no expiry', (url) => url.searchParams.delete('expires'), 403],
    ['an expiry that is not a number', (url) => url.searchParams.set('expires', '1e99'), 403],
    ['another key', () => undefined, 403],
    ['a path with ..', (url) => (url.pathname = `/invoices/../${ORDER}.pdf`), 404],
    ['an encoded ..', (url) => (url.pathname = `/invoices/%2e%2e%2fsecret.pdf`), 404],
    ['a name that is not a uuid', (url) => (url.pathname = '/invoices/passwd.pdf'), 404],
    ['the same expiry spelled with a leading zero', (url) => url.searchParams.set('expires', `0${url.searchParams.get('expires')}`), 403],
    ['another extension', (url) => (url.pathname = `/invoices/${ORDER}.txt`), 404],
    ['a deeper path', (url) => (url.pathname = `/invoices/x/${ORDER}.pdf`), 404],
  ])('%s is refused', (name, tamper, status) => {
    const url = new URL(link);
    tamper(url);
    const check = checkInvoiceRequest(url, name === 'another key' ? 'o'.repeat(40) : SECRET, NOW);
    expect(check).toMatchObject({ ok: false, status });
  });

  it('accepts only the signature as written: other spellings of the same bytes are refused', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const signature = link.searchParams.get('signature') ?? '';
    const last = alphabet.indexOf(signature.slice(-1));
    // 32 bytes are 43 characters whose last carries 4 bits: its 2 low bits are unused, so 3 other spellings decode the same.
    for (const other of [last ^ 1, last ^ 2, last ^ 3]) {
      const url = new URL(link);
      url.searchParams.set('signature', `${signature.slice(0, -1)}${alphabet[other]}`);
      expect(Buffer.from(url.searchParams.get('signature') ?? '', 'base64url').equals(Buffer.from(signature, 'base64url'))).toBe(true);
      expect(checkInvoiceRequest(url, SECRET, NOW)).toEqual({ ok: false, status: 403, reason: 'the link is not valid' });
    }
  });

  it('never opens for a tampered link, whatever is changed', () => {
    const original = link.toString();
    fc.assert(
      fc.property(
        fc.nat({ max: original.length - 1 }),
        fc.string({ minLength: 0, maxLength: 3 }),
        fc.nat({ max: 3 }),
        (at, insert, cut) => {
          const tampered = original.slice(0, at) + insert + original.slice(at + cut);
          let url: URL;
          try {
            url = new URL(tampered);
          } catch {
            return;
          }
          const check = checkInvoiceRequest(url, SECRET, NOW);
          if (check.ok) {
            // Only a spelling that means the very same request (the same path, expiry and signature text) opens.
            expect(url.pathname).toBe(link.pathname);
            expect(url.searchParams.get('expires')).toBe(link.searchParams.get('expires'));
            expect(url.searchParams.get('signature')).toBe(link.searchParams.get('signature'));
          }
        },
      ),
      { numRuns: 3_000 },
    );
  });

  it('keeps the invoice’s address apart from its link: the address opens nothing', () => {
    const address = new URL(invoiceAddress('https://shop.example.com', ORDER));
    expect(address.search).toBe('');
    expect(checkInvoiceRequest(address, SECRET, NOW)).toEqual({ ok: false, status: 403, reason: 'the link is not signed' });
  });
});
