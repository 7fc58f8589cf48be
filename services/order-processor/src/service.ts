import { startConsumerService } from '@pipeline/kit';
import type { ServiceContext, StartedService } from '@pipeline/runtime';
import { type Config, invoiceBaseUrl, SERVICE } from './config';
import { EmailTemplates } from './emails';
import { ordersHandler } from './handler';
import { startInvoiceLinkTask } from './invoice-link-task';
import { InvoiceRenderer } from './invoice-renderer';
import { invoiceRoute } from './invoice-route';
import { InvoiceStore } from './invoice-store';
import { orderMetrics } from './metrics';
import { OrderProcessor } from './processor';
import { nodeVersionNotice, SesSender } from './ses';

/**
 * order-processor: every new order gets its stock reserved, an invoice PDF, a confirmation email
 * with the PDF attached and a signed link to it, and is confirmed; shipped and cancelled orders get
 * their emails. Invoices are served on the service's own port (`/invoices/<id>.pdf?…`).
 */
export async function start(context: ServiceContext<Config>): Promise<StartedService> {
  if (context.task?.name === 'invoice-link') return startInvoiceLinkTask(context, context.task.args);
  const { config } = context;
  // Templates compile and the store's folder exists before anything connects: a broken template stops the start.
  const templates = new EmailTemplates();
  const store = new InvoiceStore(config.INVOICE_STORE_DIR);
  await store.init();
  const ses = new SesSender({
    region: config.AWS_REGION,
    requestTimeoutMs: config.SES_REQUEST_TIMEOUT_MS,
    ...(config.SES_ENDPOINT ? { endpoint: config.SES_ENDPOINT } : {}),
    ...(config.AWS_ACCESS_KEY_ID && config.AWS_SECRET_ACCESS_KEY
      ? { credentials: { accessKeyId: config.AWS_ACCESS_KEY_ID, secretAccessKey: config.AWS_SECRET_ACCESS_KEY } }
      : {}),
  });
  const notice = nodeVersionNotice();
  if (notice) context.logger.warn(notice);
  const metrics = orderMetrics(context.registry);
  const renderer = new InvoiceRenderer(config.INVOICE_RENDER_THREADS);
  const processor = new OrderProcessor({ config, store, renderer, templates, ses, metrics, invoiceBaseUrl: invoiceBaseUrl(config) });
  const started = await startConsumerService(context, { service: SERVICE, handlers: { 'public.orders': ordersHandler(processor) } });
  return {
    ...started,
    httpRoutes: [invoiceRoute(store, config.INVOICE_LINK_SECRET)],
    stop: async () => {
      await started.stop();
      ses.close();
      await renderer.close();
    },
  };
}
