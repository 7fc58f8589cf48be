import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localOrderProcessorEnv } from './local-secrets';

describe('what pipeline start gives order-processor on the local stack', () => {
  it('an invoice store in the stack folder, a link secret made once and kept, placeholder SES credentials', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stack-'));
    const first = localOrderProcessorEnv(dir, {});
    expect(first).toEqual({
      INVOICE_STORE_DIR: join(dir, 'invoices'),
      INVOICE_LINK_SECRET: expect.stringMatching(/^[0-9a-f]{64}$/),
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
    });
    expect(statSync(join(dir, 'invoice-link-secret')).mode & 0o777).toBe(0o600);
    expect(localOrderProcessorEnv(dir, {}).INVOICE_LINK_SECRET).toBe(first.INVOICE_LINK_SECRET);
    expect(readFileSync(join(dir, 'invoice-link-secret'), 'utf8')).toBe(first.INVOICE_LINK_SECRET);
  });

  it('what the environment sets wins', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stack-'));
    expect(
      localOrderProcessorEnv(dir, {
        INVOICE_STORE_DIR: '/srv/invoices',
        INVOICE_LINK_SECRET: 's'.repeat(40),
        AWS_ACCESS_KEY_ID: 'AKIA',
        AWS_SECRET_ACCESS_KEY: 'x',
      }),
    ).toEqual({ INVOICE_STORE_DIR: '/srv/invoices', INVOICE_LINK_SECRET: 's'.repeat(40) });
  });
});
