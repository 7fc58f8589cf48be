import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { makePool, type Pool } from '@pipeline/db';
import type { StackConfig } from '@pipeline/stack';
import { eventually } from '@pipeline/testing';
import { Kafka, logLevel } from 'kafkajs';
import { PipelineRun } from './__tests__/pipeline-run';
import type { DemoSummary } from './demo/summary';
import { SERVICES } from './services';
import type { PipelineStatus } from './status/collect';
import type { EventTrail } from './trace/event-trail';
import type { OrderTrace } from './trace/order-trace';

interface SesStore {
  emails: { messageId: string; destination: { to: string[] } }[];
}

/**
 * `pipeline start` as a person runs it, on a stack of its own (its own folder, stack ports and
 * service ports, so it never meets a running `npm start` or the tests' shared stack): it brings
 * the stack up, restarts a service killed under it without losing its work, leaves a service that
 * keeps crashing stopped while the others go on, and stops every service cleanly on one SIGINT to
 * its process group.
 */
describe('pipeline start', () => {
  const harness = new PipelineRun('pipeline-start-');
  const { repoRoot, lines, ports } = harness;
  let config: StackConfig;
  let pool: Pool | undefined;
  let traceEnv: Record<string, string | undefined> = {};

  beforeAll(async () => {
    await harness.init();
    config = harness.config;
  });
  // A test that failed half-way leaves its `pipeline start` running: stop it (and so its services) before the next.
  afterEach(() => harness.interrupt(), 60_000);
  afterAll(async () => {
    await pool?.end();
    await harness.destroy();
  }, 120_000);

  const logged = (service: string, msg: RegExp | string) =>
    lines.some((line) => line.service === service && (typeof msg === 'string' ? line.msg === msg : msg.test(line.msg)));
  const ready = async (service: string) => {
    try {
      return (await fetch(`http://127.0.0.1:${ports.get(service)}/readyz`)).status === 200;
    } catch {
      return false;
    }
  };
  const pidOf = (service: string): number | undefined => {
    const started = lines.filter((line) => line.service === 'pipeline' && line.target === service && typeof line.pid === 'number').at(-1);
    return started?.pid as number | undefined;
  };
  const lastLines = () => harness.lastLines();

  /** What `pipeline start` runs with (the private stack, free service ports); `trace` and `status` run with it too. */
  const startEnv = async (): Promise<Record<string, string | undefined>> => {
    traceEnv = await harness.env();
    return traceEnv;
  };
  const start = (env: Record<string, string | undefined>, args?: string[]) => harness.start(env, args);

  /** Runs `pipeline status --json` beside the running pipeline and checks it against the servers themselves. */
  const checkStatus = async (env: Record<string, string | undefined>) => {
    const run = spawnSync(process.execPath, [join(repoRoot, 'packages', 'cli', 'bin', 'pipeline.js'), 'status', '--json'], {
      env,
      encoding: 'utf8',
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const status = JSON.parse(run.stdout) as PipelineStatus;
    expect(status.services.map((s) => [s.name, s.state])).toEqual([
      ['cdc-reader', 'ready'],
      ['order-processor', 'ready'],
      ['inventory-watcher', 'ready'],
      ['metrics-projector', 'down'],
      ['webhook-dispatcher', 'ready'],
    ]);
    const admin = new Kafka({ brokers: [`127.0.0.1:${config.kafka.port}`], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      expect(status.consumerGroups.map((g) => g.group)).toEqual([
        'inventory-watcher',
        'metrics-projector',
        'order-processor',
        'webhook-dispatcher',
      ]);
      for (const group of status.consumerGroups) {
        let lag = 0;
        for (const { topic, partitions } of await admin.fetchOffsets({ groupId: group.group })) {
          const ends = await admin.fetchTopicOffsets(topic);
          for (const { partition, offset } of partitions) {
            const end = ends.find((e) => e.partition === partition);
            lag += Number(end?.high) - Number(offset === '-1' ? end?.low : offset);
          }
        }
        expect([group.group, group.lag]).toEqual([group.group, lag]);
      }
      // The watcher caught up; nothing was dead-lettered anywhere.
      expect(status.consumerGroups.find((g) => g.group === 'inventory-watcher')?.lag).toBe(0);
      expect(status.deadLetters.map((d) => [d.service, d.open, d.total])).toEqual([
        ['cdc-reader', 0, 0],
        ['inventory-watcher', 0, 0],
        ['metrics-projector', 0, 0],
        ['order-processor', 0, 0],
        ['webhook-dispatcher', 0, 0],
      ]);
    } finally {
      await admin.disconnect();
    }
    const { rows: slots } = await (pool as Pool).query<{ slot_name: string; active: boolean }>(
      `SELECT slot_name, active FROM pg_replication_slots WHERE database = current_database() ORDER BY slot_name`,
    );
    expect(status.slots.map((s) => [s.slot, s.active])).toEqual(slots.map((s) => [s.slot_name, s.active]));
    const { rows: jobs } = await (pool as Pool).query<{ job: string }>(
      `SELECT service || '/' || name AS job FROM jobs ORDER BY service, name`,
    );
    expect(status.jobs.map((j) => `${j.service}/${j.job}`).sort()).toEqual(jobs.map((j) => j.job).sort());
    expect(status.jobs.every((j) => j.nextRunAt !== null)).toBe(true);
    const { rows: handled } = await (pool as Pool).query<{ n: number }>(
      `SELECT count(*)::int AS n FROM event_outcomes WHERE service = 'inventory-watcher' AND outcome IN ('processed', 'skipped')
          AND recorded_at > now() - interval '60 seconds'`,
    );
    const watcher = status.throughput.find((t) => t.service === 'inventory-watcher');
    // The window moved on a little since: never more now than it counted.
    expect(watcher?.handled).toBeGreaterThanOrEqual(handled[0]?.n as number);
    expect(watcher?.handled).toBeGreaterThan(0);
    expect(watcher?.eventsPerSecond).toBe(Math.round(((watcher?.handled ?? 0) / 60) * 10) / 10);
    // The screen version names each part.
    const screen = spawnSync(process.execPath, [join(repoRoot, 'packages', 'cli', 'bin', 'pipeline.js'), 'status'], {
      env,
      encoding: 'utf8',
    });
    expect(screen.status).toBe(0);
    for (const heading of ['service', 'consumer group', 'slot', 'job']) expect(screen.stdout).toContain(heading);
  };

  /** `pipeline trace order` for the demo's orders (every step, reorder tasks included) and for one that went to the dead letters. */
  const checkTraces = async (run: string, store: SesStore) => {
    const db = pool as Pool;
    const trace = <T>(args: string[]): T => {
      const result = spawnSync(process.execPath, [join(repoRoot, 'packages', 'cli', 'bin', 'pipeline.js'), 'trace', ...args, '--json'], {
        env: traceEnv,
        encoding: 'utf8',
      });
      if (result.status !== 0) throw new Error(`pipeline trace ${args.join(' ')} failed: ${result.stderr}`);
      return JSON.parse(result.stdout) as T;
    };
    const { rows: confirmed } = await db.query<{ id: string; email: string }>(
      `SELECT o.id, c.email FROM orders o JOIN customers c ON c.id = o.customer_id
        WHERE c.email LIKE 'demo-' || $1 || '-%' AND o.status = 'confirmed' ORDER BY o.created_at`,
      [run],
    );
    let causedTasks = 0;
    for (const order of confirmed) {
      const traced = trace<OrderTrace>(['order', order.id]);
      const insert = traced.events[0];
      expect(insert?.subject).toBe('public.orders');
      expect(insert?.lsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
      expect(insert?.source?.topic).toBe('cdc.public.orders');
      expect(insert?.outcomes.some((o) => o.service === 'order-processor' && o.outcome === 'processed')).toBe(true);
      expect(traced.committedAt).toBe(insert?.committedAt);
      expect(traced.stock.length).toBeGreaterThan(0);
      expect(traced.invoice?.storedAt).not.toBeNull();
      const sent = store.emails.find(
        (email) => email.destination.to.includes(order.email) && email.messageId === traced.email?.sesMessageId,
      );
      expect([traced.email?.status, sent?.messageId]).toEqual(['recorded', traced.email?.sesMessageId]);
      expect(traced.order.status).toBe('confirmed');
      expect(traced.email?.afterCommitMs).toBeGreaterThan(0);
      causedTasks += traced.reorderTasks.length;
      if (causedTasks > 0) break;
    }
    // Stock fell below its threshold at some order's reservation: that order names the task.
    expect(causedTasks).toBeGreaterThan(0);

    // An order whose items cost more than its total is a dead letter at once: the trace says why and how to redrive it.
    const { rows: customer } = await db.query<{ id: string }>(
      `INSERT INTO customers (email, name) VALUES ('trace-' || $1 || '@example.com', 'Trace') RETURNING id`,
      [run],
    );
    const { rows: made } = await db.query<{ id: string }>(
      `WITH o AS (INSERT INTO orders (customer_id, total) VALUES ($1, 1.00) RETURNING id)
       INSERT INTO order_items (order_id, name, quantity, price) SELECT id, 'Too dear', 1, 99.00 FROM o RETURNING order_id AS id`,
      [customer[0]?.id],
    );
    const orderId = made[0]?.id as string;
    const traced = await eventually(
      'the dead letter in the trace',
      async () => {
        const t = trace<OrderTrace>(['order', orderId]);
        return t.events[0]?.deadLetters[0]?.at ? t : undefined;
      },
      60_000,
    );
    const letter = traced.events[0]?.deadLetters[0];
    expect(letter?.error).toContain('ORDER_ITEMS_OVER_TOTAL');
    expect(letter?.redrive).toMatch(/^npx pipeline dlq redrive --service order-processor --at \d+:\d+ /);
    const byEvent = trace<EventTrail>(['event', traced.events[0]?.eventId as string]);
    expect(byEvent.deadLetters).toEqual(traced.events[0]?.deadLetters);
    const screen = spawnSync(process.execPath, [join(repoRoot, 'packages', 'cli', 'bin', 'pipeline.js'), 'trace', 'order', orderId], {
      env: traceEnv,
      encoding: 'utf8',
    });
    expect(screen.stdout).toContain('ORDER_ITEMS_OVER_TOTAL');
    expect(screen.stdout).toContain('redrive: npx pipeline dlq redrive --service order-processor --at ');

    // `pipeline status --json` counts that letter as the topic and the database say: one, open.
    const status = spawnSync(process.execPath, [join(repoRoot, 'packages', 'cli', 'bin', 'pipeline.js'), 'status', '--json'], {
      env: traceEnv,
      encoding: 'utf8',
    });
    const letters = (JSON.parse(status.stdout) as PipelineStatus).deadLetters.find((d) => d.service === 'order-processor');
    const admin = new Kafka({ brokers: [`127.0.0.1:${config.kafka.port}`], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    const inTopic = (await admin.fetchTopicOffsets('order-processor.dlq')).reduce((sum, o) => sum + Number(o.high) - Number(o.low), 0);
    await admin.disconnect();
    const closed = await db.query(`SELECT 1 FROM dead_letter_actions WHERE service = 'order-processor'`);
    expect(letters).toEqual({
      service: 'order-processor',
      group: 'order-processor',
      open: inTopic - (closed.rowCount ?? 0),
      total: inTopic,
    });
    expect(letters?.open).toBe(1);
  };

  it('restarts a killed service without losing its work, stops one that keeps crashing alone, and stops cleanly on SIGINT', async () => {
    const env = await startEnv();
    const exited = start(env);
    for (const service of SERVICES) {
      await eventually(
        `${service.name} ready under pipeline start`,
        async () => ((await ready(service.name)) ? true : undefined),
        240_000,
      ).catch((error: Error) => {
        throw new Error(`${error.message}; last lines:\n${lastLines()}`);
      });
    }
    expect(lines.filter((line) => line.service === 'pipeline').map((line) => line.msg)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^postgres started in /), expect.stringMatching(/^pipeline running/)]),
    );

    // 40 items in stock; each then falls below its threshold, the watcher being killed halfway.
    pool = makePool({
      connectionString: `postgres://pipeline:pipeline@127.0.0.1:${config.postgres.port}/pipeline`,
      applicationName: 'start-test',
      max: 2,
    });
    await pool.query(
      `INSERT INTO inventory (sku, product_name, quantity, reorder_threshold)
       SELECT 'START-' || g, 'Start item ' || g, 100, 10 FROM generate_series(1, 40) g`,
    );
    const lower = (from: number, to: number) =>
      pool?.query(`UPDATE inventory SET quantity = 5 WHERE sku = ANY($1::text[])`, [
        Array.from({ length: to - from + 1 }, (_, i) => `START-${from + i}`),
      ]);
    for (let i = 1; i <= 20; i++) await lower(i, i);
    const watcher = pidOf('inventory-watcher');
    expect(watcher).toBeDefined();
    process.kill(watcher as number, 'SIGKILL');
    for (let i = 21; i <= 40; i++) await lower(i, i);
    await eventually(
      'the killed inventory-watcher restarted',
      async () => (pidOf('inventory-watcher') !== watcher ? true : undefined),
      60_000,
    );
    expect(logged('pipeline', /^inventory-watcher exited \(signal SIGKILL\): restarting it in [\d.]+ s \(restart \d+;/)).toBe(true);
    const tasks = async () =>
      (
        await pool?.query<{ n: number; items: number }>(
          `SELECT count(*)::int AS n, count(DISTINCT metadata->>'inventory_id')::int AS items FROM tasks WHERE type = 'inventory_reorder'`,
        )
      )?.rows[0];
    await eventually('a reorder task for each of the 40 items', async () => ((await tasks())?.items === 40 ? true : undefined), 120_000);
    // Nothing lost, nothing twice.
    expect(await tasks()).toEqual({ n: 40, items: 40 });

    // The projector crashes five times within a minute (a crash while the stack was starting may count too): it is left stopped, the others go on.
    const gaveUp = () => logged('pipeline', /^metrics-projector exited .* and is not restarted/);
    for (let crash = 1; crash <= 5 && !gaveUp(); crash++) {
      const pid = await eventually(
        `metrics-projector running before crash ${crash}`,
        async () => {
          const current = pidOf('metrics-projector');
          return current !== undefined && (await ready('metrics-projector')) ? current : undefined;
        },
        60_000,
      );
      const exitsBefore = lines.filter((line) => line.service === 'pipeline' && /^metrics-projector exited/.test(line.msg)).length;
      process.kill(pid, 'SIGKILL');
      await eventually(`crash ${crash} noticed`, async () =>
        lines.filter((line) => line.service === 'pipeline' && /^metrics-projector exited/.test(line.msg)).length > exitsBefore
          ? true
          : undefined,
      );
    }
    expect(
      logged(
        'pipeline',
        'metrics-projector exited (signal SIGKILL) and is not restarted: it crashed 5 times within 60 s: fix the cause its log shows. ' +
          'The other services go on; restart `npm start` once it is fixed',
      ),
    ).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await ready('metrics-projector')).toBe(false);
    for (const service of ['cdc-reader', 'order-processor', 'inventory-watcher', 'webhook-dispatcher'])
      expect(await ready(service)).toBe(true);

    // `pipeline status --json` says what the services, Kafka and the database say.
    await checkStatus(env);

    // One SIGINT to the process group, as Ctrl-C at a terminal: every running service stops cleanly, once.
    process.kill(-(harness.child?.pid as number), 'SIGINT');
    // Under `npm start` the same Ctrl-C comes again at once: npm forwards the group's SIGINT to its script.
    harness.child?.kill('SIGINT');
    const [code] = await exited;
    expect(code).toBe(0);
    for (const service of ['cdc-reader', 'order-processor', 'inventory-watcher', 'webhook-dispatcher']) {
      expect(lines.filter((line) => line.service === service && line.msg === 'stopped cleanly')).toHaveLength(1);
      expect(logged(service, 'second signal during shutdown: exiting now')).toBe(false);
    }
    expect(logged('pipeline', 'every service stopped cleanly')).toBe(true);
  }, 600_000);

  it('runs a short demo, sums it up as the database and the SES endpoint say, then shows the status', async () => {
    lines.length = 0;
    const exited = start(await startEnv(), ['--demo-seconds', '15', '--demo-rate', '5', '--demo-seed', '11', '--status-every', '2']);
    const summaryLine = await eventually(
      'the demo’s summary',
      async () => lines.find((line) => line.msg === 'demo summary'),
      300_000,
    ).catch((error: Error) => {
      throw new Error(`${error.message}; last lines:\n${lastLines()}`);
    });
    const summary = summaryLine.summary as DemoSummary & { settled: boolean };
    expect(summary.settled).toBe(true);
    const db = pool as Pool;
    const one = async (sql: string, params: unknown[]) => (await db.query<{ n: number }>(sql, params)).rows[0]?.n;
    const run = summary.runId;
    const orders = `SELECT o.id FROM orders o JOIN customers c ON c.id = o.customer_id WHERE c.email LIKE 'demo-' || $1 || '-%'`;
    expect(summary.orders).toEqual({
      placed: await one(`SELECT count(*)::int AS n FROM (${orders}) o`, [run]),
      confirmed: await one(`SELECT count(*)::int AS n FROM orders WHERE id IN (${orders}) AND status = 'confirmed'`, [run]),
      onHold: await one(`SELECT count(*)::int AS n FROM orders WHERE id IN (${orders}) AND status = 'on_hold'`, [run]),
      pending: 0,
    });
    expect(summary.orders.confirmed).toBeGreaterThan(0);
    expect(summary.orders.onHold).toBeGreaterThan(0);
    expect(summary.invoicesWritten).toBe(await one(`SELECT count(*)::int AS n FROM invoices WHERE order_id IN (${orders})`, [run]));
    const store = (await (await fetch(`http://127.0.0.1:${config.ses.port}/store`)).json()) as SesStore;
    const sent = store.emails.filter((email) => email.destination.to.some((to) => to.startsWith(`demo-${run}-`))).length;
    expect(summary.emails).toEqual({ sesStore: sent, recorded: sent });
    expect(sent).toBe(summary.orders.confirmed);
    expect(summary.reorderTasks).toBe(
      await one(
        `SELECT count(*)::int AS n FROM tasks t JOIN inventory i ON i.id::text = t.metadata->>'inventory_id'
          WHERE t.type = 'inventory_reorder' AND i.sku LIKE 'DEMO-' || $1 || '-%'`,
        [run],
      ),
    );
    expect(summary.reorderTasks).toBeGreaterThan(0);
    const { rows: metrics } = await db.query<{ owner: string; won: number; lost: number }>(
      `SELECT owner, deals_won AS won, deals_lost AS lost FROM sales_metrics WHERE owner LIKE '%.' || $1 ORDER BY owner`,
      [run],
    );
    expect(summary.metrics.map((m) => ({ owner: m.owner, won: m.won, lost: m.lost }))).toEqual(metrics);
    expect(metrics.length).toBeGreaterThan(0);
    expect([summary.retries, summary.deadLetters]).toEqual([0, 0]);
    expect(summary.latencyMs.map((l) => l.service)).toEqual([
      'inventory-watcher',
      'metrics-projector',
      'order-processor',
      'webhook-dispatcher',
    ]);
    // The demo's own webhook receiver got the orders' status changes, every one signed as it should be.
    const webhooks = lines.find((line) => line.msg.startsWith('demo webhooks:'))?.webhooks as
      | { received: number; verified: number }
      | undefined;
    expect(webhooks?.received).toBeGreaterThan(0);
    expect(webhooks?.verified).toBe(webhooks?.received);

    // Then the status, every few seconds: the demo's work shows, and no dead letters.
    const status = (
      await eventually('a status after the summary', async () =>
        lines.slice(lines.indexOf(summaryLine)).find((line) => line.msg === 'status'),
      )
    ).status as PipelineStatus;
    expect(status.activity.ordersByStatus.confirmed).toBeGreaterThanOrEqual(summary.orders.confirmed);
    expect(status.activity.emailsSent).toBeGreaterThanOrEqual(sent);
    expect(status.activity.reorderTasksTotal).toBeGreaterThanOrEqual(summary.reorderTasks);
    expect(status.activity.dealsWon + status.activity.dealsLost).toBeGreaterThan(0);
    expect(status.deadLetters.every((d) => d.open === 0)).toBe(true);
    expect(status.services.every((s) => s.state === 'ready')).toBe(true);

    await checkTraces(summary.runId, store);

    process.kill(-(harness.child?.pid as number), 'SIGINT');
    expect((await exited)[0]).toBe(0);
  }, 420_000);

  it('leaves no service running when it is killed itself', async () => {
    lines.length = 0;
    start(await startEnv());
    for (const service of SERVICES) {
      await eventually(`${service.name} ready again`, async () => ((await ready(service.name)) ? true : undefined), 120_000).catch(
        (error: Error) => {
          // Say why: the service's and the supervisor's last lines.
          const said = lines.filter((line) => line.service === service.name || line.target === service.name).slice(-15);
          throw new Error(`${error.message}; its last lines:\n${said.map((line) => JSON.stringify(line)).join('\n')}`);
        },
      );
    }
    const pids = SERVICES.map((service) => pidOf(service.name) as number);
    expect(pids.every((pid) => Number.isInteger(pid))).toBe(true);
    harness.child?.kill('SIGKILL');
    // Each service notices its supervisor's channel close and stops by itself.
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    await eventually('every service gone', async () => (pids.some(alive) ? undefined : true), 60_000).catch((error: Error) => {
      const left = SERVICES.map((service, i) => ({ name: service.name, pid: pids[i] as number }))
        .filter(({ pid }) => alive(pid))
        .map(({ name, pid }) => `${name} (pid ${pid})`);
      throw new Error(`${error.message}: ${left.join(', ')} still running`);
    });
  }, 300_000);
});
