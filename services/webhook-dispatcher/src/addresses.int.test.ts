import { randomUUID } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { eventually, runPipeline, uniqueName } from '@pipeline/testing';
import { insertSubscription, newSecret } from '@pipeline/webhooks';
import { WebhookStack } from './__tests__/harness';
import { Receiver } from './__tests__/receiver';

/** A name other than localhost that the machine's hosts file (or, failing that, its resolver) maps to 127.0.0.1. */
async function loopbackName(): Promise<string> {
  const fromHosts = readFileSync('/etc/hosts', 'utf8')
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim().split(/\s+/))
    .filter(([address]) => address?.startsWith('127.'))
    .flatMap(([, ...names]) => names)
    .find((name) => name !== 'localhost');
  if (fromHosts) return fromHosts;
  const own = hostname();
  const addresses = await lookup(own, { all: true }).catch(() => []);
  return addresses.length > 0 && addresses.every((a) => a.address.startsWith('127.')) ? own : 'localhost';
}

/**
 * The address rule where the connection is made, through the running dispatcher: `localhost`,
 * `[::1]` and a name the hosts file maps to 127.0.0.1 are refused at delivery for a subscription
 * that does not allow private addresses (stored as such, as one made before the rule would be),
 * and delivered to for one that does. No test sends anything beyond loopback.
 */
describe('webhook-dispatcher checks every address where it connects', () => {
  const stack = new WebhookStack();
  const receivers: Receiver[] = [];

  beforeAll(() => stack.start(), 120_000);
  afterAll(async () => {
    await Promise.all(receivers.map((r) => r.stop()));
    await stack.stop();
  }, 60_000);

  /** Stores a subscription as it is, without `add`'s early check (as if the name resolved elsewhere then). */
  const store = async (url: string, allowPrivate: boolean) => {
    const id = randomUUID();
    const name = uniqueName('addr');
    await insertSubscription(stack.db.pool, {
      id,
      name,
      url,
      tables: ['public.suppliers'],
      operations: [],
      changedColumns: [],
      secretSealed: stack.box.seal(newSecret(), id),
      allowPrivate,
    });
    return { id, name };
  };

  it('refuses loopback at delivery without --allow-private, delivers with it', async () => {
    const v4 = await new Receiver().start();
    const v6 = await new Receiver(undefined, '::1').start();
    receivers.push(v4, v6);
    const port4 = new URL(v4.url).port;
    const named = await loopbackName();
    const targets = [
      { url: `http://localhost:${port4}/hook`, receiver: v4, address: '127.0.0.1' },
      { url: `http://${named}:${port4}/hook`, receiver: v4, address: '127.0.0.1' },
      { url: v6.url, receiver: v6, address: '::1' },
    ];
    const subscriptions = [];
    for (const target of targets) {
      subscriptions.push({ ...target, allowed: await store(target.url, true), refused: await store(target.url, false) });
    }
    const tag = uniqueName('supplier');
    await stack.db.pool.query(`INSERT INTO suppliers (name) VALUES ($1)`, [tag]);

    for (const s of subscriptions) {
      const dead = await eventually(
        `the delivery to ${s.url} refused`,
        async () => {
          const { rows } = await stack.db.pool.query<{ status: string; last_error: string | null }>(
            'SELECT status, last_error FROM webhook_deliveries WHERE subscription_id = $1',
            [s.refused.id],
          );
          return rows[0]?.status === 'dead' ? rows[0] : undefined;
        },
        60_000,
      );
      expect(dead.last_error).toMatch(new RegExp(`^address not allowed: ${s.address.replace(/[.:]/g, '\\$&')} \\(loopback\\)`));
      expect(dead.last_error).toContain('pipeline webhooks set NAME --allow-private');
      await eventually(
        `the delivery to ${s.url} with --allow-private`,
        async () => {
          const { rows } = await stack.db.pool.query<{ status: string }>(
            'SELECT status FROM webhook_deliveries WHERE subscription_id = $1',
            [s.allowed.id],
          );
          return rows[0]?.status === 'delivered' ? true : undefined;
        },
        60_000,
      );
      // The admins' alert follows the attempt's record.
      const alerts = await eventually(
        `the admins alerted of ${s.url}`,
        async () => {
          const { rows } = await stack.db.pool.query<{ message: string }>(
            `SELECT message FROM notifications WHERE type = 'webhook_dead' AND title LIKE '%' || $1 || '%'`,
            [s.refused.name],
          );
          return rows.length > 0 ? rows : undefined;
        },
        10_000,
      );
      expect(alerts).toHaveLength(1);
      expect(alerts[0]?.message).toContain('address not allowed');
    }
    // Each receiver got exactly the deliveries of the subscriptions that allow it: 2 on 127.0.0.1, 1 on ::1.
    const mine = (r: Receiver) => r.requests.filter((q) => q.body.includes(tag));
    expect(mine(v4)).toHaveLength(2);
    expect(mine(v6)).toHaveLength(1);

    // Allowed later, a dead delivery goes out on redelivery.
    const [first] = subscriptions;
    if (!first) throw new Error('no subscription');
    const cli = (args: string[]) => runPipeline(['webhooks', ...args, '--database-url', stack.db.url], { WEBHOOK_SECRETS_KEY: stack.key });
    expect(cli(['set', first.refused.name, '--allow-private']).status).toBe(0);
    expect(cli(['redeliver', '--endpoint', first.refused.name, '--failed']).stdout).toContain('requeued 1 delivery');
    await eventually('the redelivery once allowed', async () => (mine(v4).length === 3 ? true : undefined), 60_000);
  }, 120_000);

  it('refuses a loopback endpoint at `add` without --allow-private, as early feedback', () => {
    const result = runPipeline(
      [
        'webhooks',
        'add',
        uniqueName('early'),
        '--url',
        'https://localhost:9/hook',
        '--table',
        'public.suppliers',
        '--database-url',
        stack.db.url,
      ],
      { WEBHOOK_SECRETS_KEY: stack.key },
    );
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('address not allowed: 127.0.0.1 (loopback)');
    expect(result.stderr).toContain('(localhost resolves to it)');
  });
});
