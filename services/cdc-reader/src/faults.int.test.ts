import { makeKafka } from '@pipeline/kafka';
import { makeLogger } from '@pipeline/runtime';
import type { Stack } from '@pipeline/stack';
import { privateStack, testLogLevel, testPool, uniqueName } from '@pipeline/testing';
import { logLevel } from 'kafkajs';
import type pg from 'pg';
import { Registry } from 'prom-client';
import { consume, migratePrivateDatabase, type ReaderFixture, testReaderOptions, waitStreaming } from './__tests__/harness';
import { makeReaderMetrics, type ReaderMetrics } from './metrics';
import { CdcReader } from './reader';

/**
 * Servers going away, on a private PostgreSQL and a private Kafka of this test's own: the broker
 * stopped while transactions commit, the walsender terminated, PostgreSQL restarted mid-stream.
 */
describe('cdc-reader when servers go away', () => {
  let stack: Stack;
  let fixture: ReaderFixture;
  let reader: CdcReader;
  let metrics: ReaderMetrics;
  let admin: pg.Pool;
  const pools: pg.Pool[] = [];

  const pool = (url: string) => {
    const p = testPool({ connectionString: url, max: 3 });
    pools.push(p);
    return p;
  };

  beforeAll(async () => {
    stack = await privateStack(['postgres', 'kafka']);
    await stack.up();
    const urls = await migratePrivateDatabase(stack.endpoints.databaseUrl);
    const ownerUrl = urls.ownerUrl;
    const readerUrl = new URL(urls.readerUrl);
    admin = pool(ownerUrl);
    const kafka = makeKafka(
      { clientId: 'faults', brokers: stack.endpoints.kafkaBrokers, retry: { retries: 8 } },
      makeLogger({ service: 'faults', level: 'silent' }),
      logLevel.NOTHING,
    );
    const id = uniqueName('faults');
    metrics = makeReaderMetrics(new Registry());
    fixture = {
      db: { name: 'pipeline', url: ownerUrl, readerUrl: readerUrl.toString(), pool: admin, drop: async () => undefined },
      kafka,
      slot: `slot_${id}`,
      prefix: `cdc_${id}`,
      schemaTopic: `_pipeline.schemas.${id}`,
      deadLetterTopic: `_pipeline.cdc.dlq.${id}`,
      topic: (table) => `cdc_${id}.public.${table}`,
      options: () => {
        throw new Error('not used');
      },
      env: () => ({}),
      close: async () => undefined,
    };
    reader = new CdcReader({
      ...testReaderOptions({
        pool: pool(readerUrl.toString()),
        readerUrl: readerUrl.toString(),
        kafka,
        id,
        level: testLogLevel('silent'),
      }),
      metrics,
      heartbeatIntervalMs: 500,
    });
    reader.start();
    await waitStreaming(reader);
  }, 180_000);

  afterAll(async () => {
    await reader?.stop();
    await Promise.all(pools.map((p) => p.end().catch(() => undefined)));
    await stack?.destroy();
  });

  /** Inserts `count` suppliers named `<tag>-<n>`, in transactions of up to 5 rows; retries through an outage. */
  async function write(tag: string, count: number): Promise<void> {
    for (let n = 0; n < count; n += 5) {
      const values = Array.from({ length: Math.min(5, count - n) }, (_, i) => `('${tag}-${n + i}', 1)`).join(', ');
      for (;;) {
        try {
          await admin.query(`INSERT INTO suppliers (name, default_order_quantity) VALUES ${values}`);
          break;
        } catch {
          // PostgreSQL restarting: the statement did not commit; try again.
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }
    }
  }

  async function allArrived(): Promise<void> {
    const { rows } = await admin.query<{ name: string }>('SELECT name FROM suppliers');
    const names = new Set(rows.map((r) => r.name));
    const seen = new Set<string>();
    await consume(
      fixture,
      [fixture.topic('suppliers')],
      (r) => {
        const name = r.at(-1)?.envelope.after?.name;
        if (typeof name === 'string') seen.add(name);
        return [...names].every((n) => seen.has(n));
      },
      120_000,
    );
    expect(seen).toEqual(names);
  }

  it('the broker stopped while transactions commit, the walsender terminated, the broker started again: everything arrives', async () => {
    await write('before', 50);
    await stack.component('kafka').down();
    await write('broker-down', 200);
    const { rows } = await admin.query<{ pid: number }>('SELECT active_pid AS pid FROM pg_replication_slots WHERE slot_name = $1', [
      fixture.slot,
    ]);
    await admin.query('SELECT pg_terminate_backend($1)', [rows[0]?.pid]);
    await write('walsender-gone', 100);
    await stack.component('kafka').up();
    await write('broker-back', 50);
    await allArrived();
    const reconnects = await metrics.reconnects.get();
    expect(reconnects.values.reduce((sum, v) => sum + v.value, 0)).toBeGreaterThanOrEqual(1);
  }, 240_000);

  it('PostgreSQL restarted mid-stream: the reader reconnects by itself and nothing is lost', async () => {
    const writing = write('during-restart', 500);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await stack.component('postgres').down();
    await stack.component('postgres').up();
    await writing;
    await write('after-restart', 50);
    await waitStreaming(reader, 60_000);
    await allArrived();
  }, 240_000);
});
