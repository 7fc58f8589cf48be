import { withTransaction } from '@pipeline/db';
import type { HandlerResult } from '@pipeline/kafka';
import type { ChangeContext } from '@pipeline/kit';
import { type Logger, PipelineError } from '@pipeline/runtime';
import type { Config } from './config';
import { emailData, itemsAgainstTotal } from './email-data';
import type { EmailKind, EmailTemplates } from './emails';
import { invoiceAddress, signInvoiceLink } from './invoice-link';
import type { InvoiceRenderer } from './invoice-renderer';
import type { InvoiceStore } from './invoice-store';
import type { OrderMetrics } from './metrics';
import { composeRawEmail } from './mime';
import { loadOrder, type OrderView } from './order';
import { confirmOrder, invoiceNumberOf, putOnHold, recordInvoiceStored } from './order-state';
import { checkRecipient } from './recipient';
import { classifySendError, type SesSender } from './ses';
import { releaseStock, reserveStock } from './stock';

export interface ProcessorDeps {
  config: Config;
  store: InvoiceStore;
  renderer: InvoiceRenderer;
  templates: EmailTemplates;
  ses: SesSender;
  metrics: OrderMetrics;
  /** Where invoice links point: INVOICE_PUBLIC_BASE_URL or this service's port. */
  invoiceBaseUrl: string;
}

type Context = ChangeContext<Config>;

/**
 * A new order's way to confirmation: each step is safe to repeat, so a retry or a replay picks up
 * where the last attempt stopped and does nothing twice.
 *  1. the order must still be pending, and its items must add up to its total;
 *  2. stock reserved, all or nothing (or the order goes on hold, and that is all);
 *  3. an invoice number, allocated once; the PDF rendered and stored once;
 *  4. the email, through the effects ledger (sent at most once; an unknown outcome stops for a person);
 *  5. the order confirmed with its invoice's address (never the signed link), in one transaction with the processed-event row.
 */
export class OrderProcessor {
  constructor(private readonly deps: ProcessorDeps) {}

  async newOrder(orderId: string, ctx: Context): Promise<HandlerResult> {
    const { metrics } = this.deps;
    const { pool } = ctx;
    // One transaction, the order row locked: still pending, amounts agree, stock reserved (or the order held), invoice number.
    const decided = await withTransaction(pool, async (client) => {
      const order = await loadOrder(client, orderId, true);
      if (!order) return { status: 'gone' as const };
      if (order.status !== 'pending') return { status: 'not-pending' as const, was: order.status };
      // Before anything is reserved: an order whose confirmation cannot go to one address waits, pending, for a person.
      recipientOf(order, 'nothing was reserved or sent and the order stays pending');
      checkAmounts(order);
      const reserved = await reserveStock(client, orderId, order.items);
      if (reserved.status === 'short') {
        await putOnHold(client, orderId, reserved.short, ctx.eventId);
        return { status: 'short' as const, short: reserved.short };
      }
      return { status: 'reserved' as const, order, invoice: await invoiceNumberOf(client, orderId) };
    });
    if (decided.status === 'gone') return skip(ctx.logger, `order ${orderId} no longer exists`);
    if (decided.status === 'not-pending') return skip(ctx.logger, `order ${orderId} is ${decided.was}, not pending`);
    if (decided.status === 'short') {
      metrics.onHold.inc();
      ctx.logger.info({ orderId, short: decided.short }, 'order on hold: not enough stock');
      return 'processed';
    }

    const { order } = decided;
    const expiresAt = new Date(decided.invoice.issuedAt.getTime() + this.deps.config.INVOICE_LINK_TTL_SECONDS * 1000);
    const stored = await this.storedInvoice(order, decided.invoice.number);
    const link = signInvoiceLink(
      this.deps.invoiceBaseUrl,
      this.deps.config.INVOICE_LINK_SECRET,
      orderId,
      Math.floor(expiresAt.getTime() / 1000),
    );
    const sent = await this.sendEmail(ctx, 'confirmation', order, { number: decided.invoice.number, url: link, expiresAt }, stored.bytes);
    const result = await ctx.processOnce(async (client) => {
      if (stored.written) await recordInvoiceStored(client, orderId, stored);
      // The order keeps the invoice's address; the signed link (a bearer token) lives in the email only.
      return confirmOrder(client, orderId, invoiceAddress(this.deps.invoiceBaseUrl, orderId), sent ? new Date() : null);
    });
    if (result.status === 'skipped') return 'skipped';
    if (result.result) {
      metrics.confirmed.inc();
      ctx.logger.info({ orderId, invoice: decided.invoice.number }, 'order confirmed');
    }
    return 'processed';
  }

  /**
   * A change of the order whose status is unavailable: what its current status asks. Pending: the
   * new-order steps (each done once); shipped or cancelled: that email (sent once); else nothing.
   */
  async byCurrentStatus(orderId: string, ctx: Context): Promise<HandlerResult> {
    const order = await loadOrder(ctx.pool, orderId);
    if (!order) return skip(ctx.logger, `order ${orderId} no longer exists`);
    ctx.logger.info({ orderId, status: order.status }, 'the change carries no status: judged by the order as it is now');
    if (order.status === 'pending') return this.newOrder(orderId, ctx);
    if (order.status === 'shipped' || order.status === 'cancelled') return this.statusChanged(orderId, order.status, ctx);
    return skip(ctx.logger, `order ${orderId} is ${order.status}: nothing to do`);
  }

  /** A status change a customer hears about: shipped, or cancelled (whose stock goes back first, once). */
  async statusChanged(orderId: string, kind: Exclude<EmailKind, 'confirmation'>, ctx: Context): Promise<HandlerResult> {
    const { metrics } = this.deps;
    const { pool } = ctx;
    const order = await loadOrder(pool, orderId);
    if (!order) return skip(ctx.logger, `order ${orderId} no longer exists`);
    if (kind === 'cancelled') {
      const released = await withTransaction(pool, (client) => releaseStock(client, orderId));
      if (released > 0) {
        metrics.released.inc();
        ctx.logger.info({ orderId, items: released }, 'stock of the cancelled order returned');
      }
    }
    await this.sendEmail(ctx, kind, order);
    return 'processed';
  }

  /** The order's PDF: rendered and stored once (a replay or retry reads the stored bytes back, never re-renders). */
  private async storedInvoice(
    order: OrderView,
    invoiceNumber: string,
  ): Promise<{ bytes: Buffer; written: boolean; sha256: string; sizeBytes: number }> {
    const { store, metrics, config, renderer } = this.deps;
    const existing = await store.read(order.id);
    if (existing) return { bytes: existing, written: false, sha256: '', sizeBytes: existing.length };
    const stopTimer = metrics.invoiceRender.startTimer();
    const rendered = await renderer.render(order, invoiceNumber, { name: config.SELLER_NAME, address: config.SELLER_ADDRESS });
    stopTimer();
    return store.putIfAbsent(order.id, rendered);
  }

  /** One email of one kind per order, through the effects ledger; false when an operator abandoned it. */
  private async sendEmail(
    ctx: Context,
    kind: EmailKind,
    order: OrderView,
    invoice?: { number: string; url: string; expiresAt: Date },
    pdf?: Buffer,
  ): Promise<boolean> {
    const { templates, ses, metrics, config } = this.deps;
    const to = recipientOf(order, `the ${kind} email was not sent`);
    const spec = { key: `order:${order.id}`, effect: `email:${kind}`, policy: 'stop' as const };
    const outcome = await ctx.performEffect(spec, async () => {
      const rendered = templates.render(kind, emailData(order, config.SELLER_NAME, invoice));
      const raw = await composeRawEmail({
        ...rendered,
        from: config.SES_FROM_ADDRESS,
        to,
        reference: `${spec.key}/${spec.effect}`,
        ...(pdf && invoice
          ? { attachments: [{ filename: `invoice-${invoice.number}.pdf`, content: pdf, contentType: 'application/pdf' }] }
          : {}),
      });
      const stopTimer = metrics.sesRequest.startTimer();
      try {
        const messageId = await ses.send(raw, {
          to,
          reference: `${spec.key}/${spec.effect}`,
          effectKey: spec.key,
          effect: spec.effect,
        });
        stopTimer({ outcome: 'sent' });
        return { providerRef: messageId, result: { to, ...(invoice ? { invoiceLinkExpiresAt: invoice.expiresAt.toISOString() } : {}) } };
      } catch (error) {
        const failure = classifySendError((error as { cause?: unknown }).cause ?? error);
        stopTimer({ outcome: failure.kind === 'unknown' ? 'unknown' : 'not_sent' });
        metrics.sesErrors.inc({ code: failure.code });
        throw error;
      }
    });
    if (outcome.status === 'performed') {
      metrics.emails.inc({ kind });
      ctx.logger.info({ orderId: order.id, kind, messageId: outcome.providerRef }, `${kind} email sent`);
    }
    return outcome.status !== 'abandoned';
  }
}

/**
 * The one address the order's emails go to; a stored address that is not exactly one valid
 * address (a list, a display name, a line break …) is a dead letter that names the order and the
 * address and says what to do. `consequence` says what was (not) done.
 */
function recipientOf(order: OrderView, consequence: string): string {
  const checked = checkRecipient(order.customer.email);
  if (checked.ok) return checked.address;
  throw new PipelineError(
    `order ${order.id}: its customer's address ${JSON.stringify(order.customer.email.slice(0, 320))} is not one valid address ` +
      `(${checked.reason}), so ${consequence}. Correct the address (customers.email of customer ${order.customer.id}), ` +
      'then redrive this letter (`pipeline dlq redrive --service order-processor`)',
    { code: 'INVALID_RECIPIENT', retriable: false },
  );
}

/** Items short of the total may still be on their way (retriable); over it, the order is wrong. */
function checkAmounts(order: OrderView): void {
  const amounts = itemsAgainstTotal(order);
  if (amounts.kind === 'short') {
    throw new PipelineError(
      `order ${order.id}: its items sum to ${amounts.items} ${order.currency} but its total is ${amounts.total} ${order.currency}. ` +
        'Items written in a later transaction arrive in time for a retry; if this is the last one, write the order and its items in one ' +
        'transaction (or correct the total), then redrive the dead letter',
      { code: 'ORDER_ITEMS_SHORT', retriable: true },
    );
  }
  if (amounts.kind === 'over') {
    throw new PipelineError(
      `order ${order.id}: its items sum to ${amounts.items} ${order.currency}, more than its total of ${amounts.total} ${order.currency}. ` +
        'Correct the order (its total or its items), then redrive the dead letter',
      { code: 'ORDER_ITEMS_OVER_TOTAL', retriable: false },
    );
  }
}

function skip(logger: Logger, why: string): HandlerResult {
  logger.info(`${why}: skipped`);
  return 'skipped';
}
