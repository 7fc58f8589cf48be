import { eventually, uniqueName } from '@pipeline/testing';
import { WebhookStack } from './__tests__/harness';
import { HOSTILE_KINDS, type HostileKind, HostileReceiver, type HostileRequest } from './__tests__/hostile-receivers';
import { Receiver } from './__tests__/receiver';

/** The cap the harness gives the dispatcher's backoff (WEBHOOK_BACKOFF_MAX_MS), and so any Retry-After. */
const BACKOFF_CAP_MS = 5_000;

const percentile = (sorted: readonly number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;

/**
 * Receivers that answer every way but well (Retry-After huge, negative, garbage and as a date; a
 * 100 MB body; a body trickled a byte a second; a redirect to itself; a reset connection; a status
 * line that is not HTTP; 10,000 headers), against the running, built dispatcher, while a healthy
 * endpoint subscribes to the same changes: the dispatcher never exits, the healthy endpoint gets
 * every change, and each hostile answer ends in the verdict it should.
 */
describe('webhook-dispatcher facing hostile receivers', () => {
  const stack = new WebhookStack();
  const hostile = new Map<HostileKind, { receiver: HostileReceiver; id: string }>();
  let healthy: Receiver;

  beforeAll(() => stack.start(), 120_000);
  afterAll(async () => {
    await Promise.all([...hostile.values()].map(({ receiver }) => receiver.stop()));
    await healthy?.stop();
    await stack.stop();
  }, 60_000);

  /** Inserts `count` items tagged `tag` (20 a second) and waits until the healthy endpoint has each; commit-to-received ms, sorted. */
  async function burst(tag: string, count: number): Promise<number[]> {
    for (let i = 0; i < count; i++) {
      await stack.db.pool.query(`INSERT INTO inventory (sku, product_name, quantity, reorder_threshold) VALUES ($1, 'Mug', 10, 0)`, [
        `${tag}-${i}`,
      ]);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const mine = () => healthy.requests.filter((r) => r.body.includes(`"${tag}-`));
    await eventually(
      `the healthy endpoint has all ${count} changes of ${tag}`,
      async () => (mine().length >= count ? true : undefined),
      60_000,
    );
    const skus = mine().map((r) => (JSON.parse(r.body) as { record: { sku: string } }).record.sku);
    expect(new Set(skus).size).toBe(count);
    expect(skus).toHaveLength(count);
    return mine()
      .map((r) => r.at - Date.parse((JSON.parse(r.body) as { commit_timestamp: string }).commit_timestamp))
      .sort((a, b) => a - b);
  }

  /** Every attempt at one subscription, oldest first. */
  const attempts = async (id: string) =>
    (
      await stack.db.pool.query<{ verdict: string; status_code: number | null; error: string | null }>(
        'SELECT verdict, status_code, error FROM webhook_attempts WHERE subscription_id = $1 ORDER BY id',
        [id],
      )
    ).rows;

  it('never exits; the healthy endpoint receives every change; every hostile answer ends in its verdict', async () => {
    healthy = await new Receiver().start();
    await stack.subscribe({ url: healthy.url, tables: ['public.inventory'] });
    const dispatcher = stack.dispatcher;
    if (!dispatcher) throw new Error('no dispatcher');
    const pid = dispatcher.process.pid;

    const alone = await burst(uniqueName('alone'), 30);

    for (const kind of HOSTILE_KINDS) {
      const receiver = await new HostileReceiver(kind).start();
      const { id } = await stack.subscribe({ url: receiver.url, tables: ['public.inventory'] });
      hostile.set(kind, { receiver, id });
    }
    const of = (kind: HostileKind) => hostile.get(kind) as { receiver: HostileReceiver; id: string };
    const beside = await burst(uniqueName('hostile'), 30);
    // Every hostile receiver was tried, and the ones that ask for a retry were tried again.
    await eventually(
      'each hostile receiver tried at least twice, and one change twice at the one that sends a date',
      async () =>
        [...hostile.values()].every(({ receiver }) => receiver.requests.length >= 2) &&
        new Set(of('retry-after-date').receiver.requests.map((r) => r.webhookId)).size < of('retry-after-date').receiver.requests.length
          ? true
          : undefined,
      60_000,
    );

    expect(dispatcher.process.exitCode).toBeNull();
    expect(dispatcher.process.signalCode).toBeNull();
    expect(dispatcher.process.pid).toBe(pid);
    expect((await fetch(`http://127.0.0.1:${dispatcher.port}/healthz`)).status).toBe(200);

    // Retry-After: huge is capped, negative and garbage are ignored, a date is honoured.
    for (const kind of ['retry-after-huge', 'retry-after-negative', 'retry-after-garbage', 'retry-after-date'] as const) {
      const tried = await attempts(of(kind).id);
      expect(tried.length).toBeGreaterThan(0);
      // Retried until the last attempt, which is dead.
      for (const attempt of tried) expect(['retry', 'dead']).toContain(attempt.verdict);
      const { rows } = await stack.db.pool.query<{ ahead_ms: number }>(
        `SELECT extract(epoch FROM max(next_attempt_at) - now()) * 1000 AS ahead_ms FROM webhook_deliveries WHERE subscription_id = $1 AND status = 'pending'`,
        [of(kind).id],
      );
      expect(Number(rows[0]?.ahead_ms ?? 0)).toBeLessThanOrEqual(BACKOFF_CAP_MS);
    }
    // A delivery's second attempt waits for the date (sent 2 s ahead, to the second).
    const byDelivery = new Map<string | undefined, HostileRequest[]>();
    for (const r of of('retry-after-date').receiver.requests) byDelivery.set(r.webhookId, [...(byDelivery.get(r.webhookId) ?? []), r]);
    const again = [...byDelivery.values()].filter((tries) => tries.length >= 2);
    expect(again.length).toBeGreaterThan(0);
    for (const [first, second] of again) expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(900);

    // Bodies: read up to 64 KiB, the connection then closed; the 200 counts.
    for (const kind of ['body-100mb', 'body-trickle'] as const) {
      const tried = await attempts(of(kind).id);
      expect(tried.length).toBeGreaterThan(0);
      for (const attempt of tried) expect(attempt).toMatchObject({ verdict: 'delivered', status_code: 200 });
    }
    for (const request of of('body-100mb').receiver.requests) {
      await eventually('the big body cut short', async () => (request.bodyBytesWritten !== undefined ? true : undefined), 10_000);
      expect(request.bodyBytesWritten).toBeLessThan(100 * 1024 * 1024);
    }

    // A redirect is never followed: dead at once, one request per change.
    const redirected = await attempts(of('redirect-loop').id);
    for (const attempt of redirected) expect(attempt).toMatchObject({ verdict: 'dead', status_code: 302 });
    expect(redirected[0]?.error).toContain('redirects are not followed');
    expect(of('redirect-loop').receiver.requests.length).toBe(redirected.length);
    // Many dead deliveries to one endpoint, one notification for the admins (per DLQ_ALERT_WINDOW_MS).
    expect(redirected.length).toBeGreaterThan(1);
    const { rows: alerts } = await stack.db.pool.query(
      `SELECT 1 FROM notifications WHERE type = 'webhook_dead' AND title LIKE '%' || $1 || '%'`,
      [
        (await stack.db.pool.query<{ name: string }>('SELECT name FROM webhook_subscriptions WHERE id = $1', [of('redirect-loop').id]))
          .rows[0]?.name,
      ],
    );
    expect(alerts).toHaveLength(1);

    // No answer that is HTTP: retried, saying what happened.
    const reasons: [HostileKind, RegExp][] = [
      ['reset', /ECONNRESET/],
      ['bad-status-line', /not a valid HTTP answer \(HPE_/],
      ['headers-10000', /not a valid HTTP answer \(HPE_HEADER_OVERFLOW/],
    ];
    for (const [kind, reason] of reasons) {
      const tried = await attempts(of(kind).id);
      expect(tried.length).toBeGreaterThan(0);
      for (const attempt of tried) {
        expect(['retry', 'dead']).toContain(attempt.verdict);
        expect(attempt.status_code).toBeNull();
        expect(attempt.error).toMatch(reason);
      }
    }

    for (const { id } of hostile.values()) await stack.db.pool.query('UPDATE webhook_subscriptions SET active = false WHERE id = $1', [id]);
    // Measured, not asserted: what the hostile receivers cost the healthy one.
    console.log(
      `healthy endpoint, commit to received: p50 ${percentile(alone, 50)} ms, p99 ${percentile(alone, 99)} ms alone; ` +
        `p50 ${percentile(beside, 50)} ms, p99 ${percentile(beside, 99)} ms beside ${HOSTILE_KINDS.length} hostile receivers`,
    );
  }, 180_000);
});
