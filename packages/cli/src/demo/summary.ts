import type { Pool } from '@pipeline/db';
import type { RunRows } from './workload';

/** What one demo run caused, read back from the database and the SES endpoint: this run's rows only. */
export interface DemoSummary {
  runId: string;
  /** Changes of this run's rows the consumers handled, by table (distinct events). */
  changesHandled: Record<string, number>;
  orders: { placed: number; confirmed: number; onHold: number; pending: number };
  invoicesWritten: number;
  /** Confirmation emails: what the SES endpoint holds for this run's customers, and what the effects ledger recorded. */
  emails: { sesStore: number; recorded: number };
  reorderTasks: number;
  metrics: { owner: string; won: number; lost: number; revenueClosed: string; winRatePct: string | null }[];
  retries: number;
  deadLetters: number;
  /** Commit to handled, per service, over this run's processed events. */
  latencyMs: { service: string; events: number; p50: number; p99: number }[];
}

interface SesStore {
  emails: { destination: { to: string[] } }[];
}

export async function demoSummary(pool: Pool, sesEndpoint: string | undefined, runId: string, rows: RunRows): Promise<DemoSummary> {
  const keys = [...rows.orders, ...rows.inventory, ...rows.opportunities];
  const q = async <T extends Record<string, unknown>>(sql: string, params: unknown[]) => (await pool.query<T>(sql, params)).rows;

  const handled = await q<{ subject: string; n: number }>(
    `SELECT subject, count(DISTINCT event_id)::int AS n FROM event_outcomes
      WHERE row_key = ANY($1::text[]) AND outcome IN ('processed', 'skipped') GROUP BY subject ORDER BY subject`,
    [keys],
  );
  const orders = await q<{ status: string; n: number }>(
    'SELECT status, count(*)::int AS n FROM orders WHERE id = ANY($1::uuid[]) GROUP BY status',
    [rows.orders],
  );
  const byStatus = new Map(orders.map((row) => [row.status, row.n]));
  const [invoices] = await q<{ n: number }>(
    'SELECT count(*)::int AS n FROM invoices WHERE order_id = ANY($1::uuid[]) AND stored_at IS NOT NULL',
    [rows.orders],
  );
  const [recorded] = await q<{ n: number }>(
    `SELECT count(*)::int AS n FROM effects_ledger WHERE effect_key = ANY($1::text[]) AND effect = 'email:confirmation' AND status = 'recorded'`,
    [rows.orders.map((id) => `order:${id}`)],
  );
  const [tasks] = await q<{ n: number }>(
    `SELECT count(*)::int AS n FROM tasks WHERE type = 'inventory_reorder' AND metadata->>'inventory_id' = ANY($1::text[])`,
    [rows.inventory],
  );
  const metrics = await q<{ owner: string; won: number; lost: number; revenue: string; rate: string | null }>(
    `SELECT owner, deals_won AS won, deals_lost AS lost, revenue_closed::text AS revenue, win_rate_pct::text AS rate
       FROM sales_metrics WHERE owner = ANY($1::text[]) ORDER BY owner`,
    [rows.owners],
  );
  const [failures] = await q<{ retries: number; dead: number }>(
    `SELECT count(*) FILTER (WHERE outcome = 'retried')::int AS retries, count(*) FILTER (WHERE outcome = 'dead_lettered')::int AS dead
       FROM event_outcomes WHERE row_key = ANY($1::text[])`,
    [keys],
  );
  const latency = await q<{ service: string; events: number; p50: number; p99: number }>(
    `SELECT service, count(*)::int AS events,
            round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms))::int AS p50,
            round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms))::int AS p99
       FROM (SELECT service, extract(epoch FROM recorded_at - committed_at) * 1000 AS ms FROM event_outcomes
              WHERE row_key = ANY($1::text[]) AND outcome = 'processed' AND committed_at IS NOT NULL) AS handled
      GROUP BY service ORDER BY service`,
    [keys],
  );
  let sesStore = 0;
  if (sesEndpoint) {
    const store = (await (await fetch(`${sesEndpoint}/store`, { signal: AbortSignal.timeout(10_000) })).json()) as SesStore;
    const marker = `demo-${runId}-`;
    sesStore = store.emails.filter((email) => email.destination.to.some((to) => to.includes(marker))).length;
  }
  return {
    runId,
    changesHandled: Object.fromEntries(handled.map((row) => [row.subject, row.n])),
    orders: {
      placed: rows.orders.length,
      confirmed: byStatus.get('confirmed') ?? 0,
      onHold: byStatus.get('on_hold') ?? 0,
      pending: byStatus.get('pending') ?? 0,
    },
    invoicesWritten: invoices?.n ?? 0,
    emails: { sesStore, recorded: recorded?.n ?? 0 },
    reorderTasks: tasks?.n ?? 0,
    metrics: metrics.map((m) => ({ owner: m.owner, won: m.won, lost: m.lost, revenueClosed: m.revenue, winRatePct: m.rate })),
    retries: failures?.retries ?? 0,
    deadLetters: failures?.dead ?? 0,
    latencyMs: latency,
  };
}

/** The summary for a person. */
export function renderSummary(summary: DemoSummary): string {
  const lines = [
    `demo run ${summary.runId}:`,
    `  changes handled   ${
      Object.entries(summary.changesHandled)
        .map(([table, n]) => `${table} ${n}`)
        .join(', ') || 'none'
    }`,
    `  orders            ${summary.orders.placed} placed: ${summary.orders.confirmed} confirmed, ${summary.orders.onHold} on hold, ${summary.orders.pending} pending`,
    `  invoices written  ${summary.invoicesWritten}`,
    `  emails sent       ${summary.emails.sesStore} (SES endpoint), ${summary.emails.recorded} recorded in the effects ledger`,
    `  reorder tasks     ${summary.reorderTasks}`,
    `  retries           ${summary.retries}`,
    `  dead letters      ${summary.deadLetters}${summary.deadLetters > 0 ? ' (npx pipeline dlq list --service <service>)' : ''}`,
    '  sales metrics per owner:',
    ...summary.metrics.map(
      (m) => `    ${m.owner.padEnd(20)} won ${m.won}, lost ${m.lost}, revenue ${m.revenueClosed}, win rate ${m.winRatePct ?? '-'} %`,
    ),
    '  commit → handled:',
    ...summary.latencyMs.map((l) => `    ${l.service.padEnd(20)} p50 ${l.p50} ms, p99 ${l.p99} ms (${l.events} events)`),
  ];
  return `${lines.join('\n')}\n`;
}
