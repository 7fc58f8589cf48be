import { Counter, Histogram, type Registry } from 'prom-client';
import { EMAIL_KINDS } from './emails';

/** The processor's business metrics, every known labelled series present (at 0) from the start. */
export function orderMetrics(registry: Registry) {
  const registers = [registry];
  const metrics = {
    confirmed: new Counter({
      name: 'orders_confirmed_total',
      help: 'Orders confirmed (invoice stored, email sent or recorded)',
      registers,
    }),
    onHold: new Counter({ name: 'orders_on_hold_total', help: 'Orders put on hold because their stock was short', registers }),
    released: new Counter({
      name: 'orders_stock_released_total',
      help: 'Cancelled orders whose reserved stock was returned',
      registers,
    }),
    emails: new Counter({ name: 'emails_sent_total', help: 'Emails SES accepted, by kind', labelNames: ['kind'], registers }),
    invoiceRender: new Histogram({
      name: 'invoice_render_seconds',
      help: 'Time to render one invoice PDF',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    sesRequest: new Histogram({
      name: 'ses_request_seconds',
      help: 'Duration of one SES SendRawEmail request, by outcome (sent, not_sent, unknown)',
      labelNames: ['outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    sesErrors: new Counter({
      name: 'ses_errors_total',
      help: 'Failed SES requests by error code (Throttling, MessageRejected, ECONNREFUSED, TimeoutError …)',
      labelNames: ['code'],
      registers,
    }),
  };
  for (const kind of EMAIL_KINDS) metrics.emails.inc({ kind }, 0);
  for (const code of ['Throttling', 'MessageRejected', 'ServiceUnavailable', 'ECONNREFUSED', 'TimeoutError'])
    metrics.sesErrors.inc({ code }, 0);
  return metrics;
}

export type OrderMetrics = ReturnType<typeof orderMetrics>;
