import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What a benchmark's receiver records of each webhook: when it arrived, its change's commit time, the row's sku. */
export interface Arrival {
  at: number;
  commitMs: number;
  sku: string;
}

/** A fast receiver on loopback for the webhook benchmarks: answers 204 and records each arrival. */
export async function latencyReceiver(): Promise<{ url: string; received: Arrival[]; server: Server }> {
  const received: Arrival[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { commit_timestamp: string; record?: { sku?: string } };
      received.push({ at: Date.now(), commitMs: Date.parse(body.commit_timestamp), sku: body.record?.sku ?? '' });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, received, server };
}

/** The `q` quantile of `values` (nearest rank). */
export function quantileOf(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}
