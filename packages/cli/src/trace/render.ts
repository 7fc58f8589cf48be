import type { EventTrail } from './event-trail';
import type { OrderTrace } from './order-trace';

const ms = (value: number | null): string => (value === null ? '' : `+${value} ms`.padStart(10));

/** An event's lines: where it is in Kafka, then each outcome (and how to redrive a dead letter). */
export function renderEventTrail(trail: EventTrail, indent = ''): string[] {
  const where = trail.source ? `${trail.source.topic}[${trail.source.partition}]@${trail.source.offset}` : 'read from a retry topic only';
  const lines = [
    `${indent}event ${trail.eventId}`,
    `${indent}  ${trail.subject ?? '?'} row ${trail.rowKey ?? '?'}, LSN ${trail.lsn ?? '?'}, committed ${trail.committedAt ?? '(never decoded)'}, ${where}`,
  ];
  for (const o of trail.outcomes) {
    const group = o.group === o.service ? o.service : `${o.service} (group ${o.group})`;
    lines.push(
      `${indent}  ${ms(o.afterCommitMs)}  ${group}: ${o.outcome}${o.attempt > 1 ? ` on attempt ${o.attempt} (${o.topic})` : ''}${o.error ? ` — ${o.error}` : ''}`,
    );
  }
  for (const letter of trail.deadLetters)
    lines.push(`${indent}  dead letter of ${letter.group}: ${letter.error ?? '?'}`, `${indent}    redrive: ${letter.redrive}`);
  return lines;
}

/** An order's journey on one screen, each step with its time from the order's commit. */
export function renderOrderTrace(trace: OrderTrace): string {
  const o = trace.order;
  const lines = [
    `order ${o.id}: ${o.status}, ${o.total} ${o.currency}, ${o.customer}, created ${o.createdAt}`,
    `committed ${trace.committedAt ?? '(no change of it was handled yet)'}`,
    '',
    'changes:',
    ...(trace.events.length === 0 ? ['  none recorded by a consumer yet'] : trace.events.flatMap((trail) => renderEventTrail(trail, '  '))),
    '',
    'stock:',
    ...(trace.stock.length === 0
      ? ['  nothing reserved']
      : trace.stock.map(
          (s) => `  ${ms(s.afterCommitMs)}  reserved ${s.quantity} × ${s.item}${s.releasedAt ? `, released ${s.releasedAt}` : ''}`,
        )),
    ...trace.holds.map((h) => `  ${ms(h.afterCommitMs)}  on hold: ${h.reason}`),
    '',
    `invoice: ${
      trace.invoice
        ? `${ms(trace.invoice.afterCommitMs).trim()} ${trace.invoice.number}, ${trace.invoice.storedAt ? `stored (${trace.invoice.sizeBytes} bytes)` : 'numbered, not stored yet'}`
        : 'none'
    }`,
    `email:   ${
      trace.email
        ? `${ms(trace.email.afterCommitMs).trim()} ${trace.email.status}, SES message id ${trace.email.sesMessageId ?? '-'}${trace.email.attempts > 1 ? `, ${trace.email.attempts} attempts` : ''}`
        : 'none'
    }`,
    'reorder tasks it caused:',
    ...(trace.reorderTasks.length === 0 ? ['  none'] : trace.reorderTasks.map((t) => `  ${ms(t.afterCommitMs)}  ${t.title} (${t.status})`)),
    '',
    `final status: ${o.status}`,
  ];
  return `${lines.join('\n')}\n`;
}
