import { checkInvoiceRequest, signInvoiceLink } from './invoice-link';

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
    ['another extension', (url) => (url.pathname = `/invoices/${ORDER}.txt`), 404],
    ['a deeper path', (url) => (url.pathname = `/invoices/x/${ORDER}.pdf`), 404],
  ])('%s is refused', (name, tamper, status) => {
    const url = new URL(link);
    tamper(url);
    const check = checkInvoiceRequest(url, name === 'another key' ? 'o'.repeat(40) : SECRET, NOW);
    expect(check).toMatchObject({ ok: false, status });
  });
});
