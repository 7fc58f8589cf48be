import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Pool } from '@pipeline/db';
import { addSubscription, SecretBox, verify } from '@pipeline/webhooks';

/** The demo's webhook endpoint: what it received, and how many requests' signatures verified. */
export interface DemoReceiver {
  name: string;
  url: string;
  counts(): { received: number; verified: number };
  close(): Promise<void>;
}

export const DEMO_RECEIVER = 'demo-receiver';

const header = (headers: IncomingHttpHeaders, name: string) => String(headers[name] ?? '');

/**
 * A receiver in `pipeline start`'s own process, subscribed to order status changes (the
 * subscription `demo-receiver`, made afresh each start since its port changes): every request is
 * verified as a receiver should (signature and a 5-minute timestamp tolerance) and answered 204.
 */
export async function startDemoReceiver(pool: Pool, secretsKey: string): Promise<DemoReceiver> {
  let received = 0;
  let verified = 0;
  let secret = '';
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received++;
      const body = Buffer.concat(chunks).toString('utf8');
      const headers = {
        'webhook-id': header(req.headers, 'webhook-id'),
        'webhook-timestamp': header(req.headers, 'webhook-timestamp'),
        'webhook-signature': header(req.headers, 'webhook-signature'),
      };
      const ok = verify(secret, headers, body, Math.floor(Date.now() / 1000));
      if (ok) verified++;
      res.writeHead(ok ? 204 : 401).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/orders`;
  await pool.query('DELETE FROM webhook_subscriptions WHERE name = $1', [DEMO_RECEIVER]);
  ({ secret } = await addSubscription(
    pool,
    new SecretBox(secretsKey),
    {
      name: DEMO_RECEIVER,
      url,
      tables: ['public.orders'],
      operations: ['UPDATE'],
      changedColumns: ['status'],
      // The demo's receiver listens on loopback: its subscription says so, as any local one must.
    },
    { allowPrivate: true },
  ));
  return {
    name: DEMO_RECEIVER,
    url,
    counts: () => ({ received, verified }),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
