import { move } from 'piscina';
import { renderInvoice, type Seller } from './invoice-pdf';
import type { OrderView } from './order';

export interface RenderTask {
  order: OrderView;
  invoiceNumber: string;
  seller: Seller;
}

/** Runs in a worker thread of the invoice renderer: one PDF, its bytes moved (not copied) back. */
export default async function render(task: RenderTask): Promise<ArrayBuffer> {
  const pdf = await renderInvoice(task.order, task.invoiceNumber, task.seller);
  // A copy of its own (a Buffer may share a pooled ArrayBuffer), then moved to the caller without another copy.
  const bytes = new Uint8Array(pdf).buffer;
  return move(bytes) as ArrayBuffer;
}
