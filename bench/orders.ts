import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deleteTestTopics, sharedStack, testKafka, uniqueName } from '@pipeline/testing';
import { renderInvoice } from '../services/order-processor/src/invoice-pdf';
import type { OrderView } from '../services/order-processor/src/order';
import { benchDatabase, type Database, log, startReader, startService, stopChild } from './support';

/**
 * order-processor on a burst of new orders, the built service behind the real cdc-reader, sending
 * through the local SES endpoint: every order reserved, invoiced (pdfmake, Roboto), emailed with
 * its PDF, confirmed. Orders per second (first insert to last confirmation) is printed beside the
 * rate of rendering the same invoices alone in one process (same run): the PDF is the dominant
 * cost, so their ratio says how much the rest (Kafka, PostgreSQL, SES, the ledger) takes. Target
 * ≥ 0.7, printed, never asserted. Then: 1,000 invoices, 1,000 emails, none twice.
 */

const ORDERS = Number(process.env.BENCH_ORDERS ?? 1_000);
const RENDERS = Number(process.env.BENCH_ORDERS_RENDERS ?? 200);
const TARGET = 0.7;
/**
 * Partitions of the cdc topics, and the processor's CONSUMER_CONCURRENCY: orders of one partition
 * are handled one after another, so the partitions are what keeps the render thread busy while
 * other orders wait on PostgreSQL and SES.
 */
const PARTITIONS = Number(process.env.BENCH_ORDERS_PARTITIONS ?? 6);
const PROCESSOR = join(__dirname, '..', 'services', 'order-processor', 'dist', 'main.js');

async function startProcessor(db: Database, id: string, storeDir: string): Promise<ChildProcess> {
  // BENCH_CPU_PROF=<folder>: the processor writes a V8 CPU profile there when it stops.
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : [];
  return startService(
    PROCESSOR,
    {
      DATABASE_URL: db.url,
      CDC_TOPIC_PREFIX: `bench_${id}`,
      SCHEMA_TOPIC: `_pipeline.schemas.bench_${id}`,
      CONSUMER_GROUP: `bench_${id}_orders`,
      CONSUMER_CONCURRENCY: String(PARTITIONS),
      SES_ENDPOINT: sharedStack().endpoints.sesEndpoint,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      INVOICE_STORE_DIR: storeDir,
      INVOICE_LINK_SECRET: 'b'.repeat(64),
    },
    profile,
  );
}

/** Orders like the tests': two items each, one of them drawing stock; each order in a transaction of its own, four writers. */
async function burst(db: Database, runId: string): Promise<void> {
  const { rows } = await db.pool.query<{ id: string }>(
    `INSERT INTO inventory (sku, product_name, quantity) VALUES ('BENCH-${runId}', 'Bench stock', $1) RETURNING id`,
    [ORDERS * 10],
  );
  const inventoryId = rows[0]?.id;
  let next = 0;
  const writer = async () => {
    for (;;) {
      const n = next++;
      if (n >= ORDERS) return;
      await db.pool.query(
        `WITH c AS (INSERT INTO customers (email, name) VALUES ($1, $2) RETURNING id),
              o AS (INSERT INTO orders (customer_id, total, currency) SELECT id, 21.97, 'EUR' FROM c RETURNING id)
         INSERT INTO order_items (order_id, inventory_id, name, quantity, price)
         SELECT o.id, i.inventory_id, i.name, i.quantity, i.price FROM o,
           (VALUES ($3::uuid, 'Kubek „Żółw”', 2, 5.99), (NULL::uuid, 'Книга', 1, 9.99)) AS i(inventory_id, name, quantity, price)`,
        [`bench-${runId}-${n}@bench.example.com`, `Łucja ${n}`, inventoryId],
      );
    }
  };
  await Promise.all([writer(), writer(), writer(), writer()]);
}

/** CPU time (user + system) a process has used, seconds (Linux /proc). */
function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/** CPU seconds by part of the machine: PostgreSQL (every backend), the Kafka broker, the SES endpoint, the cdc-reader, the processor. */
function machineCpu(processorPid: number, readerPid: number): Record<string, number> {
  const parts: Record<string, number> = { 'order-processor': 0, 'cdc-reader': 0, postgres: 0, kafka: 0, 'ses endpoint': 0 };
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    let args: string;
    try {
      args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    } catch {
      continue;
    }
    const part =
      pid === processorPid
        ? 'order-processor'
        : pid === readerPid
          ? 'cdc-reader'
          : /pipeline-postgres|^postgres: (?!15\/main)/.test(args)
            ? 'postgres'
            : /kafka\.Kafka|kafka-server|org\.apache\.kafka/.test(args)
              ? 'kafka'
              : /ses-server/.test(args)
                ? 'ses endpoint'
                : undefined;
    if (part) parts[part] = (parts[part] ?? 0) + cpuSeconds(pid);
  }
  return parts;
}

async function confirmedCount(db: Database): Promise<number> {
  const { rows } = await db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM orders WHERE status = 'confirmed'`);
  return Number(rows[0]?.n ?? 0);
}

/** The same kind of invoice rendered `RENDERS` times in this process, one after another: invoices per second. */
async function renderAlone(): Promise<number> {
  const order: OrderView = {
    id: '5f0c7a52-8d4e-4c1f-9a7b-1d2e3f405162',
    status: 'pending',
    total: '21.97',
    currency: 'EUR',
    createdAt: new Date(),
    invoiceUrl: null,
    customer: { id: 'c', name: 'Łucja 1', email: 'lucja@bench.example.com', locale: 'en' },
    items: [
      { id: 'a', inventoryId: 'x', name: 'Kubek „Żółw”', quantity: 2, price: '5.99' },
      { id: 'b', inventoryId: null, name: 'Книга', quantity: 1, price: '9.99' },
    ],
  };
  const seller = { name: 'WAL Pipeline Demo Store', address: '1 Commit Street' };
  for (let i = 0; i < 10; i++) await renderInvoice(order, 'INV-2026-000001', seller);
  const started = process.hrtime.bigint();
  for (let i = 0; i < RENDERS; i++) await renderInvoice(order, `INV-2026-${String(i).padStart(6, '0')}`, seller);
  return RENDERS / (Number(process.hrtime.bigint() - started) / 1e9);
}

export async function benchOrders(): Promise<void> {
  await sharedStack().up();
  const id = uniqueName('ord').replace(/^ord_/, '');
  const runId = id;
  const db = await benchDatabase();
  const kafka = testKafka('bench-orders');
  const storeDir = mkdtempSync(join(tmpdir(), 'bench-invoices-'));
  let reader: ChildProcess | undefined;
  let processor: ChildProcess | undefined;
  try {
    reader = (await startReader(db, `bench_slot_${id}`, id, { CDC_TOPIC_PARTITIONS: String(PARTITIONS) })).child;
    processor = await startProcessor(db, id, storeDir);
    // Warm-up: one order through everything (topics, JIT, fonts), not measured.
    await db.pool.query(
      `WITH c AS (INSERT INTO customers (email, name) VALUES ('warm-${runId}@bench.example.com', 'Warm') RETURNING id),
            o AS (INSERT INTO orders (customer_id, total) SELECT id, 1.00 FROM c RETURNING id)
       INSERT INTO order_items (order_id, name, quantity, price) SELECT id, 'Warm', 1, 1.00 FROM o`,
    );
    while ((await confirmedCount(db)) < 1) await new Promise((resolve) => setTimeout(resolve, 50));

    const cpuBefore = machineCpu(processor.pid ?? 0, reader.pid ?? 0);
    const started = process.hrtime.bigint();
    await burst(db, runId);
    const written = Number(process.hrtime.bigint() - started) / 1e9;
    log(
      `${ORDERS} orders written in ${written.toFixed(1)} s (four writers, a transaction each; ${PARTITIONS} partitions, CONSUMER_CONCURRENCY ${PARTITIONS})`,
    );
    let lastPrint = Date.now();
    for (;;) {
      const done = (await confirmedCount(db)) - 1;
      if (done >= ORDERS) break;
      if (Date.now() - lastPrint > 5_000) {
        lastPrint = Date.now();
        log(`… ${done} of ${ORDERS} confirmed`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const ordersPerSecond = ORDERS / seconds;
    const cpuAfter = machineCpu(processor.pid ?? 0, reader.pid ?? 0);
    log(
      `CPU during the burst (${seconds.toFixed(1)} s on 2 cores): ` +
        Object.entries(cpuAfter)
          .map(([part, after]) => `${part} ${(after - (cpuBefore[part] ?? 0)).toFixed(1)} s`)
          .join(', '),
    );

    // What was done, counted: invoices, emails (each address once), nothing left behind.
    const invoices = readdirSync(storeDir).filter((file) => file.endsWith('.pdf')).length - 1;
    const store = (await (await fetch(`${sharedStack().endpoints.sesEndpoint}/store`)).json()) as {
      emails: { destination: { to: string[] } }[];
    };
    const perAddress = new Map<string, number>();
    for (const email of store.emails) {
      for (const to of email.destination.to) if (to.includes(`bench-${runId}-`)) perAddress.set(to, (perAddress.get(to) ?? 0) + 1);
    }
    const twice = [...perAddress.values()].filter((n) => n > 1).length;
    const { rows: stock } = await db.pool.query<{ quantity: number }>(`SELECT quantity FROM inventory WHERE sku = $1`, [`BENCH-${runId}`]);
    log(
      `${invoices} invoices, ${perAddress.size} emails to ${ORDERS} customers, ${twice} sent twice; stock ${ORDERS * 10} → ${stock[0]?.quantity} ` +
        `(${ORDERS * 2} reserved)`,
    );

    await stopChild(processor);
    processor = undefined;
    const renders = await renderAlone();
    const ratio = ordersPerSecond / renders;
    log(
      `order-processor: ${ordersPerSecond.toFixed(1)} orders/s (${ORDERS} in ${seconds.toFixed(1)} s, first insert to last confirmation); ` +
        `invoice PDF alone ${renders.toFixed(1)}/s; ratio ${ratio.toFixed(2)} (target ≥ ${TARGET}: ${ratio >= TARGET ? 'met' : 'not met'})`,
    );
  } finally {
    for (const child of [processor, reader]) if (child && child.exitCode === null) await stopChild(child);
    await db.drop();
    rmSync(storeDir, { recursive: true, force: true });
    await deleteTestTopics(kafka).catch(() => undefined);
  }
}
