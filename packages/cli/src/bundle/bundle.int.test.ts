import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { loadMigrations } from '@pipeline/db';
import { findRepoRoot, inheritedEnv } from '@pipeline/stack';
import {
  createEmptyDatabase,
  createTestDatabase,
  eventually,
  sharedStack,
  startServiceChild,
  TEST_READER_PASSWORD,
  type TestChild,
  type TestDatabase,
  uniqueName,
} from '@pipeline/testing';
import { SERVICES } from '../services';
import { type BundleResult, buildBundle, DEV_ONLY_PACKAGES, symbolicLinks } from './bundle';

/** Every package folder under a bundle's node_modules (scoped ones as `@scope/name`), nested ones included. */
function installedPackages(dir: string): string[] {
  const found: string[] = [];
  const walk = (modules: string) => {
    if (!existsSync(modules)) return;
    for (const entry of readdirSync(modules)) {
      const names = entry.startsWith('@') ? readdirSync(join(modules, entry)).map((n) => `${entry}/${n}`) : [entry];
      for (const name of names) {
        found.push(name);
        walk(join(modules, name, 'node_modules'));
      }
    }
  };
  walk(join(dir, 'node_modules'));
  return found;
}

/** A counter's total over its series, from a service's /metrics. */
async function counted(port: number, metric: string, labels = ''): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${metric}{`) || line.startsWith(`${metric} `))
    .filter((line) => line.includes(labels))
    .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
}

/**
 * `npm run bundle -w services/<name>`: a folder that runs the service anywhere. Each bundle is
 * built into a folder outside the checkout (so nothing can be found in the checkout's
 * node_modules), checked, then started there against the local stack with its configuration from
 * the environment alone, and made to handle a change.
 */
describe('deployable bundles of the services', () => {
  const repoRoot = findRepoRoot(__dirname);
  const outside = mkdtempSync(join(tmpdir(), 'pipeline-bundles-'));
  const bundles = new Map<string, BundleResult>();
  const children: TestChild[] = [];
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase('bundles');
  });
  afterAll(async () => {
    for (const child of children) {
      if (child.process.exitCode === null && child.process.signalCode === null) {
        child.process.kill('SIGTERM');
        await child.exited;
      }
    }
    await db.drop();
  }, 60_000);

  it('holds each service’s built code, templates and production dependencies only, with no symbolic link', () => {
    expect(relative(repoRoot, outside).startsWith('..')).toBe(true);
    for (const { name } of SERVICES) {
      // Built, then copied elsewhere as a deploy would: nothing may point back at where it was built.
      const built = buildBundle({ repoRoot, serviceDir: join(repoRoot, 'services', name), outDir: join(outside, 'built', name) });
      cpSync(built.dir, join(outside, name), { recursive: true });
      rmSync(built.dir, { recursive: true });
      const result = { ...built, dir: join(outside, name) };
      bundles.set(name, result);
      expect([name, symbolicLinks(result.dir)]).toEqual([name, []]);
      const installed = installedPackages(result.dir);
      expect([name, installed.filter((p) => (DEV_ONLY_PACKAGES as readonly string[]).includes(p))]).toEqual([name, []]);
      // The workspace packages it uses, as published (built code, no sources or tests).
      expect(installed).toEqual(expect.arrayContaining(['@pipeline/runtime', '@pipeline/kit', '@pipeline/db', '@pipeline/schemas']));
      expect(existsSync(join(result.dir, 'node_modules', '@pipeline', 'kit', 'src'))).toBe(false);
      expect(existsSync(join(result.dir, 'node_modules', '@pipeline', 'schemas', 'avro'))).toBe(true);
      const manifest = JSON.parse(readFileSync(join(result.dir, 'package.json'), 'utf8')) as Record<string, unknown>;
      expect(manifest).not.toHaveProperty('devDependencies');
      expect(manifest.scripts).toEqual({ start: 'node dist/main.js' });
      expect(existsSync(join(result.dir, 'dist', 'main.js'))).toBe(true);
      expect(readdirSync(join(result.dir, 'dist')).some((f) => f.includes('.test.'))).toBe(false);
    }
    expect(existsSync(join(outside, 'order-processor', 'templates'))).toBe(true);
    expect(existsSync(join(outside, 'order-processor', 'node_modules', 'pdfmake', 'fonts', 'Roboto'))).toBe(true);
  });

  it('prepares an empty database and the broker from the cdc-reader bundle (`node dist/main.js prepare`, compose’s init), twice without change', async () => {
    const empty = await createEmptyDatabase('bundle_prepare');
    const prefix = uniqueName('test_prepare');
    const env = {
      PATH: inheritedEnv().PATH ?? '',
      DATABASE_URL: empty.url,
      KAFKA_BROKERS: sharedStack().endpoints.kafkaBrokers.join(','),
      CDC_TOPIC_PREFIX: prefix,
      CDC_SCHEMA_TOPIC: uniqueName('_pipeline.schemas.prepare'),
      CDC_DLQ_TOPIC: uniqueName('_pipeline.cdc.dlq.prepare'),
      // Roles belong to the whole server: set the password every test's reader logs in with, so nothing else changes.
      CDC_READER_PASSWORD: TEST_READER_PASSWORD,
      LOG_LEVEL: 'warn',
    };
    const dir = join(outside, 'cdc-reader');
    try {
      const prepare = () => spawnSync(process.execPath, ['dist/main.js', 'prepare'], { cwd: dir, env, encoding: 'utf8' });
      const first = prepare();
      expect([first.status, first.stderr]).toEqual([0, '']);
      const result = JSON.parse(first.stdout) as { ok: boolean; migrationsApplied: string[]; topics: string[] };
      expect(result.migrationsApplied).toEqual(loadMigrations().map((m) => `${String(m.version).padStart(4, '0')}_${m.name}`));
      expect(result.topics).toEqual(
        expect.arrayContaining([`${prefix}.public.orders`, `${prefix}.public.inventory`, `${prefix}.public.opportunities`]),
      );
      const second = prepare();
      expect(second.status).toBe(0);
      expect(JSON.parse(second.stdout)).toMatchObject({ migrationsApplied: [] });
    } finally {
      await empty.drop();
    }
  }, 120_000);

  it('starts each bundle outside the checkout from the environment alone, and each handles a change', async () => {
    expect(bundles.size).toBe(SERVICES.length);
    const prefix = uniqueName('test_bundle');
    const schemaTopic = uniqueName('_pipeline.schemas.bundle');
    const start = async (name: string, env: Record<string, string>) => {
      const dir = (bundles.get(name) as BundleResult).dir;
      const child = await startServiceChild(join(dir, 'dist', 'main.js'), env, dir);
      children.push(child);
      return child.port;
    };
    const ports = new Map<string, number>();
    ports.set(
      'cdc-reader',
      await start('cdc-reader', {
        DATABASE_URL: db.readerUrl,
        CDC_SLOT_NAME: uniqueName('slot_bundle'),
        CDC_TOPIC_PREFIX: prefix,
        CDC_SCHEMA_TOPIC: schemaTopic,
        CDC_DLQ_TOPIC: uniqueName('_pipeline.cdc.dlq.bundle'),
      }),
    );
    const consumer = (name: string) => ({
      DATABASE_URL: db.url,
      CDC_TOPIC_PREFIX: prefix,
      SCHEMA_TOPIC: schemaTopic,
      CONSUMER_GROUP: uniqueName(`test-bundle-${name}`),
    });
    ports.set(
      'order-processor',
      await start('order-processor', {
        ...consumer('order-processor'),
        SES_ENDPOINT: sharedStack().endpoints.sesEndpoint,
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
        SES_REQUEST_TIMEOUT_MS: '3000',
        INVOICE_STORE_DIR: mkdtempSync(join(tmpdir(), 'bundle-invoices-')),
        INVOICE_LINK_SECRET: 'bundle-test-secret-of-at-least-32-characters',
      }),
    );
    ports.set('inventory-watcher', await start('inventory-watcher', consumer('inventory-watcher')));
    ports.set('metrics-projector', await start('metrics-projector', consumer('metrics-projector')));

    // An order with one item, stock falling below its threshold, a deal moving on.
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<{ id: string }>(`INSERT INTO customers (email, name) VALUES ($1, 'Zofia Bundle') RETURNING id`, [
        `${uniqueName('bundle')}@example.com`,
      ]);
      const { rows: order } = await client.query<{ id: string }>(
        `INSERT INTO orders (customer_id, total, currency) VALUES ($1, 12.50, 'USD') RETURNING id`,
        [rows[0]?.id],
      );
      await client.query(`INSERT INTO order_items (order_id, name, quantity, price) VALUES ($1, 'Mug', 1, 12.50)`, [order[0]?.id]);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    const sku = uniqueName('sku');
    await db.pool.query(`INSERT INTO inventory (sku, product_name, quantity, reorder_threshold) VALUES ($1, 'Mug', 10, 5)`, [sku]);
    await db.pool.query('UPDATE inventory SET quantity = 2 WHERE sku = $1', [sku]);
    await db.pool.query(`INSERT INTO opportunities (name, stage, value, owner) VALUES ('Bundle deal', 'proposal', 1000, 'ada')`);

    await eventually(
      'the cdc-reader to produce the changes',
      async () => ((await counted(ports.get('cdc-reader') as number, 'cdc_events_total')) >= 5 ? true : undefined),
      60_000,
    );
    for (const name of ['order-processor', 'inventory-watcher', 'metrics-projector']) {
      await eventually(
        `${name} to handle a change`,
        async () => ((await counted(ports.get(name) as number, 'consumer_events_total', 'outcome="processed"')) >= 1 ? true : undefined),
        60_000,
      );
    }
    // What each did, in the database: the order confirmed (invoice and email), the reorder task opened.
    await eventually('the order confirmed', async () => {
      const { rows } = await db.pool.query<{ status: string }>('SELECT status FROM orders');
      return rows[0]?.status === 'confirmed' ? rows : undefined;
    });
    await eventually('the reorder task', async () => {
      const { rows } = await db.pool.query(`SELECT 1 FROM tasks WHERE type = 'inventory_reorder'`);
      return rows.length === 1 ? rows : undefined;
    });
  }, 240_000);
});
