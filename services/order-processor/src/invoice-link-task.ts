import { makePool } from '@pipeline/db';
import { isUuid, type ServiceContext, type StartedService, type TaskOutcome } from '@pipeline/runtime';
import { type Config, invoiceBaseUrl, SERVICE } from './config';
import { signInvoiceLink } from './invoice-link';

/** The longest a minted link may live: a year. */
const MAX_TTL_SECONDS = 366 * 24 * 3600;

/**
 * Task mode `invoice-link ORDER [TTL_SECONDS]` (`pipeline invoices link`): a fresh signed link to an
 * order's stored invoice, valid for TTL_SECONDS (default INVOICE_LINK_TTL_SECONDS), for support
 * staff to hand to a customer. It is printed, never stored: links are minted, not kept.
 */
export function startInvoiceLinkTask(context: ServiceContext<Config>, args: readonly string[]): StartedService {
  const { config } = context;
  const pool = makePool({ connectionString: config.DATABASE_URL, applicationName: `${SERVICE}:invoice-link`, max: 1 });
  const refuse = (error: string): TaskOutcome => ({ ok: false, exitCode: 64, result: { error } });
  const task = (async (): Promise<TaskOutcome> => {
    const [orderId, ttlText] = args;
    if (!orderId || !isUuid(orderId)) return refuse(`expected an order id (a uuid), got ${JSON.stringify(orderId ?? '')}`);
    const ttlSeconds = ttlText === undefined ? config.INVOICE_LINK_TTL_SECONDS : Number(ttlText);
    if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0 || ttlSeconds > MAX_TTL_SECONDS) {
      return refuse(`expected a lifetime of 1 to ${MAX_TTL_SECONDS} seconds, got ${JSON.stringify(ttlText)}`);
    }
    const { rows } = await pool.query<{ invoice_number: string; stored_at: Date | null }>(
      'SELECT invoice_number, stored_at FROM invoices WHERE order_id = $1',
      [orderId],
    );
    const invoice = rows[0];
    if (!invoice?.stored_at) {
      return refuse(`order ${orderId} has no stored invoice (yet): \`pipeline trace order ${orderId}\` shows where it is`);
    }
    const expiresAt = Math.floor(Date.now() / 1000) + ttlSeconds;
    const url = signInvoiceLink(invoiceBaseUrl(config), config.INVOICE_LINK_SECRET, orderId, expiresAt);
    return {
      ok: true,
      result: { orderId, invoiceNumber: invoice.invoice_number, url, expiresAt: new Date(expiresAt * 1000).toISOString() },
    };
  })();
  return { stop: () => pool.end(), task };
}
