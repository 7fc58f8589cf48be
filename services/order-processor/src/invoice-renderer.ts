import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Piscina from 'piscina';
import { renderInvoice, type Seller } from './invoice-pdf';
import type { OrderView } from './order';
import type { RenderTask } from './render-worker';

/**
 * Renders invoices in worker threads (INVOICE_RENDER_THREADS, piscina): a PDF takes tens of
 * milliseconds of CPU, and on the event loop it would hold up every other partition, the Kafka
 * heartbeats and the invoice links. With 0 threads (or where the compiled worker is not at hand,
 * as when running from TypeScript sources) it renders on the event loop.
 */
export class InvoiceRenderer {
  private readonly pool: Piscina | undefined;

  constructor(threads: number) {
    const worker = join(__dirname, 'render-worker.js');
    this.pool = threads > 0 && existsSync(worker) ? new Piscina({ filename: worker, minThreads: threads, maxThreads: threads }) : undefined;
  }

  get threads(): number {
    return this.pool?.threads.length ?? 0;
  }

  async render(order: OrderView, invoiceNumber: string, seller: Seller): Promise<Buffer> {
    if (!this.pool) return renderInvoice(order, invoiceNumber, seller);
    const task: RenderTask = { order, invoiceNumber, seller };
    return Buffer.from((await this.pool.run(task)) as ArrayBuffer);
  }

  async close(): Promise<void> {
    await this.pool?.destroy();
  }
}
