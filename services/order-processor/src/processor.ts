import { type Pool, withTransaction } from '@pipeline/db';
import type { HandlerResult } from '@pipeline/kafka';
import type { ChangeContext } from '@pipeline/kit';
import { type Logger, PipelineError } from '@pipeline/runtime';
import type { Config } from './config';
import { emailData, itemsAgainstTotal } from './email-data';
import type { EmailKind, EmailTemplates } from './emails';
import { signInvoiceLink } from './invoice-link';
import { renderInvoice } from './invoice-pdf';
import type { InvoiceStore } from './invoice-store';
import type { OrderMetrics } from './metrics';
import { composeRawEmail } from './mime';
import { loadOrder, type OrderView } from './order';
import { confirmOrder, invoiceNumberOf, putOnHold, recordInvoiceStored } from './order-state';
import { classifySendError, type SesSender } from './ses';
import { releaseStock, reserveStock } from './stock';

export interface ProcessorDeps {
  config: Config;
  store: InvoiceStore;
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
 *  5. the order confirmed with its link, in one transaction with the processed-event row.
 */
export class OrderProcessor {
  constructor(private readonly deps: ProcessorDeps) {}

  async newOrder(orderId: string, ctx: Context): Promise<HandlerResult> {
    const { metrics } = this.deps;
    const { pool } = ctx;
    const order = await loadOrder(pool, orderId);
    if (!order) return skip(ctx.logger, `order ${orderId} no longer exists`);
    if (order.status !== 'pending') return skip(ctx.logger, `order ${orderId} is ${order.status}, not pending`);
    const amounts = itemsAgainstTotal(order);
    if (amounts.kind === 'short') {
      throw new PipelineError(
        `order ${orderId}: its items sum to ${amounts.items} ${order.currency} but its total is ${amounts.total} ${order.currency}. ` +
          'Items written in a later transaction arrive in time for a retry; if this is the last one, write the order and its items in one ' +
          'transaction (or correct the total), then redrive the dead letter',
        { code: 'ORDER_ITEMS_SHORT', retriable: true },
      );
    }
    if (amounts.kind === 'over') {
      throw new PipelineError(
        `order ${orderId}: its items sum to ${amounts.items} ${order.currency}, more than its total of ${amounts.total} ${order.currency}. ` +
          'Correct the order (its total or its items), then redrive the dead letter',
        { code: 'ORDER_ITEMS_OVER_TOTAL', retriable: false },
      );
    }

    const reservation = await withTransaction(pool, async (client) => {
      const locked = await loadOrder(client, orderId, true);
      if (locked?.status !== 'pending') return { status: 'not-pending' as const };
      const reserved = await reserveStock(client, orderId, locked.items);
      if (reserved.status === 'short') await putOnHold(client, orderId, reserved.short, ctx.eventId);
      return reserved;
    });
    if (reservation.status === 'not-pending') return skip(ctx.logger, `order ${orderId} stopped being pending`);
    if (reservation.status === 'short') {
      metrics.onHold.inc();
      ctx.logger.info({ orderId, short: reservation.short }, 'order on hold: not enough stock');
      return 'processed';
    }

    const invoice = await this.storedInvoice(pool, order);
    const link = signInvoiceLink(
      this.deps.invoiceBaseUrl,
      this.deps.config.INVOICE_LINK_SECRET,
      orderId,
      Math.floor(invoice.expiresAt.getTime() / 1000),
    );
    const sent = await this.sendEmail(
      ctx,
      'confirmation',
      order,
      { number: invoice.number, url: link, expiresAt: invoice.expiresAt },
      invoice.bytes,
    );
    const result = await ctx.processOnce((client) => confirmOrder(client, orderId, link, sent ? new Date() : null));
    if (result.status === 'skipped') return 'skipped';
    if (result.result) {
      metrics.confirmed.inc();
      ctx.logger.info({ orderId, invoice: invoice.number }, 'order confirmed');
    }
    return 'processed';
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

  /** The order's invoice: number allocated once, PDF rendered once and stored, its bytes read back from the store. */
  private async storedInvoice(pool: Pool, order: OrderView): Promise<{ number: string; expiresAt: Date; bytes: Buffer }> {
    const { store, metrics, config } = this.deps;
    const { number, issuedAt } = await invoiceNumberOf(pool, order.id);
    let bytes = await store.read(order.id);
    if (!bytes) {
      const stopTimer = metrics.invoiceRender.startTimer();
      const rendered = await renderInvoice(order, number, { name: config.SELLER_NAME, address: config.SELLER_ADDRESS });
      stopTimer();
      const stored = await store.putIfAbsent(order.id, rendered);
      await recordInvoiceStored(pool, order.id, stored);
      bytes = (await store.read(order.id)) ?? rendered;
    }
    return { number, expiresAt: new Date(issuedAt.getTime() + config.INVOICE_LINK_TTL_SECONDS * 1000), bytes };
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
    const spec = { key: `order:${order.id}`, effect: `email:${kind}`, policy: 'stop' as const };
    const outcome = await ctx.performEffect(spec, async () => {
      const rendered = templates.render(kind, emailData(order, config.SELLER_NAME, invoice));
      const raw = await composeRawEmail({
        ...rendered,
        from: config.SES_FROM_ADDRESS,
        to: order.customer.email,
        reference: `${spec.key}/${spec.effect}`,
        ...(pdf && invoice
          ? { attachments: [{ filename: `invoice-${invoice.number}.pdf`, content: pdf, contentType: 'application/pdf' }] }
          : {}),
      });
      const stopTimer = metrics.sesRequest.startTimer();
      try {
        const messageId = await ses.send(raw, {
          to: order.customer.email,
          reference: `${spec.key}/${spec.effect}`,
          effectKey: spec.key,
          effect: spec.effect,
        });
        stopTimer({ outcome: 'sent' });
        return { providerRef: messageId, result: { to: order.customer.email, ...(invoice ? { invoiceUrl: invoice.url } : {}) } };
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

function skip(logger: Logger, why: string): HandlerResult {
  logger.info(`${why}: skipped`);
  return 'skipped';
}
