import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, inheritedEnv, runPipeline, runPipelineAsync, testKafka, uniqueName } from '@pipeline/testing';
import { Webhook } from 'standardwebhooks';
import { WebhookStack } from './__tests__/harness';
import { Receiver } from './__tests__/receiver';

/** Runs the README's `openssl` verification example on a captured request. */
function verifyWithReadmeScript(
  secret: string,
  request: { headers: Record<string, unknown>; body: string },
): { status: number | null; stdout: string } {
  const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
  const script = /```sh verify-webhook\n([\s\S]*?)```/.exec(readme)?.[1] as string;
  const dir = mkdtempSync(join(tmpdir(), 'webhook-captured-'));
  writeFileSync(join(dir, 'body.json'), request.body);
  const run = spawnSync('sh', ['-c', script], {
    cwd: dir,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: inheritedEnv().PATH,
      SECRET: secret,
      WEBHOOK_ID: String(request.headers['webhook-id']),
      WEBHOOK_TIMESTAMP: String(request.headers['webhook-timestamp']),
      WEBHOOK_SIGNATURE: String(request.headers['webhook-signature']),
    },
  });
  return { status: run.status, stdout: run.stdout.trim() };
}

/**
 * Database webhooks end to end: changes written to PostgreSQL, streamed by the real cdc-reader,
 * queued and sent by the built webhook-dispatcher to real HTTP receivers on loopback, each of
 * which verifies every request with the `standardwebhooks` package.
 */
describe('webhook-dispatcher delivering to real receivers', () => {
  const stack = new WebhookStack();
  const receivers: Receiver[] = [];
  const receiver = async (answer?: ConstructorParameters<typeof Receiver>[0]) => {
    const r = await new Receiver(answer).start();
    receivers.push(r);
    return r;
  };
  /** A tag in the rows a test writes, so a receiver's requests of other tests' rows are left out. */
  const mine = (tag: string) => (r: { body: Record<string, unknown> }) => JSON.stringify(r.body.record ?? r.body.old_record).includes(tag);
  const insertItem = (sku: string, quantity = 10) =>
    stack.db.pool.query(`INSERT INTO inventory (sku, product_name, quantity, reorder_threshold) VALUES ($1, 'Mug', $2, 0)`, [
      sku,
      quantity,
    ]);
  const verifyAll = (secret: string, r: Receiver) => {
    const webhook = new Webhook(secret);
    for (const request of r.requests) webhook.verify(request.body, request.headers as Record<string, string>);
  };

  beforeAll(() => stack.start(), 120_000);
  afterAll(async () => {
    await Promise.all(receivers.map((r) => r.stop()));
    await stack.stop();
  }, 60_000);

  it('retries a receiver that answers 500 until it recovers, with the same webhook-id and a valid signature each time', async () => {
    const tag = uniqueName('sku500');
    const r = await receiver((i) => (i < 3 ? { status: 500 } : { status: 200 }));
    const { secret, id } = await stack.subscribe({ url: r.url, tables: ['public.inventory'] });
    await insertItem(`${tag}-1`);
    const delivered = await eventually('the delivery after the 500s', async () => r.delivered().find(mine(tag)), 60_000);
    expect(r.requests.filter((q) => q.body.includes(tag)).map((q) => q.status)).toEqual([500, 500, 500, 200]);
    expect(new Set(r.requests.filter((q) => q.body.includes(tag)).map((q) => q.headers['webhook-id']))).toEqual(
      new Set([delivered.headers['webhook-id']]),
    );
    verifyAll(secret, r);
    expect(delivered.body).toMatchObject({ type: 'INSERT', table: 'inventory', schema: 'public', old_record: null });
    const { rows } = await stack.db.pool.query('SELECT verdict, status_code FROM webhook_attempts WHERE subscription_id = $1 ORDER BY id', [
      id,
    ]);
    expect(rows).toEqual([
      { verdict: 'retry', status_code: 500 },
      { verdict: 'retry', status_code: 500 },
      { verdict: 'retry', status_code: 500 },
      { verdict: 'delivered', status_code: 200 },
    ]);
    await stack.db.pool.query('UPDATE webhook_subscriptions SET active = false WHERE id = $1', [id]);
  }, 90_000);

  it('waits as long as a 429’s Retry-After says, and a 410 disables the subscription', async () => {
    const tag = uniqueName('sku429');
    const r = await receiver((i) => (i === 0 ? { status: 429, headers: { 'retry-after': '2' } } : { status: 200 }));
    const { id } = await stack.subscribe({ url: r.url, tables: ['public.inventory'] });
    await insertItem(`${tag}-1`);
    await eventually('the delivery after the 429', async () => r.delivered().find(mine(tag)), 60_000);
    const [first, second] = r.requests.filter((q) => q.body.includes(tag));
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(1_900);
    await stack.db.pool.query('UPDATE webhook_subscriptions SET active = false WHERE id = $1', [id]);

    const gone = await receiver(() => ({ status: 410 }));
    const { id: goneId } = await stack.subscribe({ url: gone.url, tables: ['public.inventory'] });
    await insertItem(`${uniqueName('sku410')}-1`);
    const disabled = await eventually(
      'the subscription disabled by its 410',
      async () => {
        const { rows } = await stack.db.pool.query<{ active: boolean; disabled_reason: string | null }>(
          'SELECT active, disabled_reason FROM webhook_subscriptions WHERE id = $1',
          [goneId],
        );
        return rows[0]?.active === false ? rows[0] : undefined;
      },
      60_000,
    );
    expect(disabled.disabled_reason).toBe('410 Gone: the receiver asked to stop');
    expect(gone.requests).toHaveLength(1);
  }, 90_000);

  it('delivers a row’s changes to a failing endpoint in commit order once it recovers', async () => {
    const tag = uniqueName('skuorder');
    let failing = true;
    const r = await receiver(() => (failing ? { status: 503 } : { status: 200 }));
    const { id } = await stack.subscribe({ url: r.url, tables: ['public.inventory'] });
    await insertItem(`${tag}-1`, 10);
    await stack.db.pool.query('UPDATE inventory SET quantity = 7 WHERE sku = $1', [`${tag}-1`]);
    await stack.db.pool.query('UPDATE inventory SET quantity = 3 WHERE sku = $1', [`${tag}-1`]);
    await eventually(
      'a few failed attempts',
      async () => (r.requests.filter((q) => q.body.includes(tag)).length >= 3 ? true : undefined),
      60_000,
    );
    // While failing, only the row's first change was ever tried: the later ones wait behind it.
    expect(new Set(r.requests.filter((q) => q.body.includes(tag)).map((q) => (JSON.parse(q.body) as { type: string }).type))).toEqual(
      new Set(['INSERT']),
    );
    failing = false;
    const delivered = await eventually(
      'all three changes',
      async () => {
        const mineDelivered = r.delivered().filter(mine(tag));
        return mineDelivered.length === 3 ? mineDelivered : undefined;
      },
      60_000,
    );
    expect(delivered.map((d) => [d.body.type, (d.body.record as { quantity: number }).quantity])).toEqual([
      ['INSERT', 10],
      ['UPDATE', 7],
      ['UPDATE', 3],
    ]);
    await stack.db.pool.query('UPDATE webhook_subscriptions SET active = false WHERE id = $1', [id]);
  }, 120_000);

  it('a hanging receiver does not delay a second endpoint', async () => {
    const tag = uniqueName('skuhang');
    const hanging = await receiver(() => 'hang');
    const fast = await receiver();
    const slow = await stack.subscribe({ url: hanging.url, tables: ['public.inventory'], maxConcurrency: 2 });
    const quick = await stack.subscribe({ url: fast.url, tables: ['public.inventory'] });
    for (let i = 0; i < 6; i++) await insertItem(`${tag}-${i}`);
    // The hanging receiver is released only once the other endpoint has everything.
    await eventually(
      'the second endpoint to receive every change',
      async () => (fast.delivered().filter(mine(tag)).length === 6 ? true : undefined),
      60_000,
    );
    expect(hanging.requests.filter((q) => q.body.includes(tag)).length).toBeLessThanOrEqual(2);
    hanging.release();
    await eventually(
      'the released endpoint to catch up',
      async () => (hanging.delivered().filter(mine(tag)).length === 6 ? true : undefined),
      60_000,
    );
    await stack.db.pool.query('UPDATE webhook_subscriptions SET active = false WHERE id = ANY ($1::uuid[])', [[slow.id, quick.id]]);
  }, 150_000);

  it('"orders whose status changed" receives only the changes of an order’s status', async () => {
    const all = await receiver();
    const statusOnly = await receiver();
    const every = await stack.subscribe({ url: all.url, tables: ['public.orders'] });
    const changed = await stack.subscribe({
      url: statusOnly.url,
      tables: ['public.orders'],
      operations: ['UPDATE'],
      changedColumns: ['status'],
    });
    const { rows } = await stack.db.pool.query<{ id: string }>(
      `WITH c AS (INSERT INTO customers (email, name) VALUES ($1, 'Ada') RETURNING id)
       INSERT INTO orders (customer_id, total) SELECT id, 10.00 FROM c RETURNING id`,
      [`${uniqueName('webhook')}@example.com`],
    );
    const order = rows[0]?.id as string;
    await stack.db.pool.query('UPDATE orders SET total = 12.00 WHERE id = $1', [order]);
    await stack.db.pool.query(`UPDATE orders SET status = 'cancelled' WHERE id = $1`, [order]);
    await eventually(
      'the three changes at the unfiltered endpoint',
      async () => (all.delivered().filter(mine(order)).length === 3 ? true : undefined),
      60_000,
    );
    // Both subscriptions were matched in the same transactions: what is queued for the filtered one is final.
    const { rows: queued } = await stack.db.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM webhook_deliveries WHERE subscription_id = $1',
      [changed.id],
    );
    expect(queued).toEqual([{ n: 1 }]);
    const received = await eventually('the status change', async () => statusOnly.delivered().find(mine(order)), 30_000);
    expect(received.body).toMatchObject({ type: 'UPDATE', record: { status: 'cancelled' }, old_record: { status: 'pending' } });
    await stack.db.pool.query('UPDATE webhook_subscriptions SET active = false WHERE id = ANY ($1::uuid[])', [[every.id, changed.id]]);
  }, 90_000);

  it('a replay of the topic redelivers nothing a receiver acknowledged; `pipeline webhooks redeliver --since` does, and `log` shows each attempt', async () => {
    const tag = uniqueName('supplier');
    const r = await receiver();
    const name = uniqueName('suppliers-endpoint');
    const cli = (args: string[]) => {
      const result = runPipeline(['webhooks', ...args, '--database-url', stack.db.url, '--json'], { WEBHOOK_SECRETS_KEY: stack.key });
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      return JSON.parse(result.stdout) as unknown;
    };
    const added = cli(['add', name, '--url', r.url, '--table', 'public.suppliers', '--allow-private']) as { secret: string };
    expect(added.secret).toMatch(/^whsec_/);
    const before = new Date(Date.now() - 1_000).toISOString();
    for (const n of [1, 2]) await stack.db.pool.query('INSERT INTO suppliers (name) VALUES ($1)', [`${tag}-${n}`]);
    await eventually('both changes delivered', async () => (r.delivered().filter(mine(tag)).length === 2 ? true : undefined), 60_000);
    verifyAll(added.secret, r);

    // Replay: the service stopped, its group moved back to the start of the topic, started again.
    await stack.stopDispatcher();
    const admin = testKafka('test-webhooks-replay').admin();
    await admin.connect();
    try {
      await admin.resetOffsets({ groupId: stack.group, topic: `${stack.prefix}.public.suppliers`, earliest: true });
    } finally {
      await admin.disconnect();
    }
    await stack.startDispatcher();
    await eventually(
      'the replayed changes read again and skipped',
      async () => {
        const { rows } = await stack.db.pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM event_outcomes WHERE service = 'webhook-dispatcher' AND outcome = 'skipped' AND topic = $1`,
          [`${stack.prefix}.public.suppliers`],
        );
        return (rows[0]?.n ?? 0) >= 2 ? true : undefined;
      },
      60_000,
    );
    const { rows: pending } = await stack.db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM webhook_deliveries d JOIN webhook_subscriptions s ON s.id = d.subscription_id WHERE s.name = $1 AND d.status <> 'delivered'`,
      [name],
    );
    expect(pending).toEqual([{ n: 0 }]);
    expect(r.delivered().filter(mine(tag))).toHaveLength(2);

    expect(cli(['redeliver', '--endpoint', name, '--since', before])).toEqual({ endpoint: name, requeued: 2 });
    await eventually('both changes delivered again', async () => (r.delivered().filter(mine(tag)).length === 4 ? true : undefined), 60_000);
    const ids = r
      .delivered()
      .filter(mine(tag))
      .map((d) => d.headers['webhook-id']);
    expect(new Set(ids).size).toBe(2);
    const log = cli(['log', '--endpoint', name]) as { verdict: string; statusCode: number }[];
    expect(log.map((a) => [a.verdict, a.statusCode])).toEqual(Array.from({ length: 4 }, () => ['delivered', 200]));
    const listed = (cli(['list']) as { name: string; delivered: number; active: boolean }[]).find((s) => s.name === name);
    expect(listed).toMatchObject({ active: true, delivered: 2 });

    // A rotation: the next request carries two signatures; a receiver with either secret verifies
    // it, and so does the README's openssl example on the captured request.
    const rotated = cli(['rotate-secret', name, '--overlap-hours', '1']) as { secret: string };
    await stack.db.pool.query('INSERT INTO suppliers (name) VALUES ($1)', [`${tag}-3`]);
    const captured = await eventually('the change after the rotation', async () =>
      r.requests.find((q) => q.status < 300 && q.body.includes(`${tag}-3`)),
    );
    expect(String(captured.headers['webhook-signature']).split(' ')).toHaveLength(2);
    for (const secret of [rotated.secret, added.secret])
      new Webhook(secret).verify(captured.body, captured.headers as Record<string, string>);
    expect(() =>
      new Webhook(`whsec_${Buffer.alloc(32, 1).toString('base64')}`).verify(captured.body, captured.headers as Record<string, string>),
    ).toThrow('No matching signature found');
    for (const secret of [rotated.secret, added.secret])
      expect(verifyWithReadmeScript(secret, captured)).toEqual({ status: 0, stdout: 'verified' });
    cli(['disable', name]);
  }, 180_000);

  it('a 400 makes the delivery dead at once and alerts the admins; `redeliver --failed` sends it once fixed; `test` sends a signed TEST', async () => {
    const tag = uniqueName('skudead');
    let broken = true;
    const r = await receiver(() => (broken ? { status: 400 } : { status: 200 }));
    const name = uniqueName('dead-endpoint');
    const cli = (args: string[]) => {
      const result = runPipeline(['webhooks', ...args, '--database-url', stack.db.url, '--json'], { WEBHOOK_SECRETS_KEY: stack.key });
      expect([result.status, result.stderr]).toEqual([0, '']);
      return JSON.parse(result.stdout) as Record<string, unknown>;
    };
    const { secret } = cli(['add', name, '--url', r.url, '--table', 'public.inventory', '--allow-private']) as { secret: string };
    await insertItem(`${tag}-1`);
    const dead = await eventually(
      'the dead delivery',
      async () => {
        const { rows } = await stack.db.pool.query<{ status: string; attempts: number; last_error: string }>(
          `SELECT d.status, d.attempts, d.last_error FROM webhook_deliveries d JOIN webhook_subscriptions s ON s.id = d.subscription_id
            WHERE s.name = $1 AND d.payload::text LIKE '%' || $2 || '%'`,
          [name, tag],
        );
        return rows[0]?.status === 'dead' ? rows[0] : undefined;
      },
      60_000,
    );
    expect(dead).toEqual({ status: 'dead', attempts: 1, last_error: 'HTTP 400' });
    // The admins' alert follows the attempt's record.
    const alerts = await eventually(
      'the admins alerted',
      async () => {
        const { rows } = await stack.db.pool.query<{ message: string }>(
          `SELECT message FROM notifications WHERE type = 'webhook_dead' AND title LIKE '%' || $1 || '%'`,
          [name],
        );
        return rows.length > 0 ? rows : undefined;
      },
      10_000,
    );
    expect(alerts).toHaveLength(1);
    expect(alerts[0]?.message).toContain(`pipeline webhooks redeliver --endpoint ${name} --failed`);

    broken = false;
    expect(cli(['redeliver', '--endpoint', name, '--failed'])).toEqual({ endpoint: name, requeued: 1 });
    await eventually('the redelivered change', async () => r.delivered().find(mine(tag)), 60_000);
    // Asynchronously: the receiver answers from this process, which a synchronous run would block.
    const tested = await runPipelineAsync(['webhooks', 'test', name, '--database-url', stack.db.url, '--json'], {
      WEBHOOK_SECRETS_KEY: stack.key,
    });
    expect([tested.status, tested.stderr]).toEqual([0, '']);
    expect(JSON.parse(tested.stdout)).toMatchObject({ name, status: 200 });
    const ping = r.requests.at(-1) as { body: string; headers: Record<string, unknown> };
    expect(JSON.parse(ping.body)).toMatchObject({ type: 'TEST' });
    new Webhook(secret).verify(ping.body, ping.headers as Record<string, string>);
    cli(['disable', name]);
  }, 120_000);
});
