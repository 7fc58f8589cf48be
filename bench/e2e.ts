import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deleteTestTopics, sharedStack, testKafka, uniqueName } from '@pipeline/testing';
import { runDemo } from '../packages/cli/src/demo/run';
import { benchDatabase, type Database, log, quantile, startReader, startService, stopChild } from './support';

/**
 * The whole pipeline under the demo's traffic (`pipeline demo`'s workload) at a steady rate for 60 s:
 * commit-to-handled p50/p99 per service, from the outcomes the services record, beside the
 * cdc-reader's commit-to-Kafka-ack p50/p99 (its histogram, same run). Targets (printed, never
 * asserted): inventory-watcher and metrics-projector p99 at most 100 ms at 200 changes/s.
 */

const SECONDS = Number(process.env.BENCH_E2E_SECONDS ?? 60);
/** Demo actions per second: each writes 1 to 4 rows, and the order-processor's work adds more (about 200 changes/s in all). */
const RATE = Number(process.env.BENCH_E2E_RATE ?? 66);
const entry = (service: string) => join(__dirname, '..', 'services', service, 'dist', 'main.js');

async function cdcEnds(topics: string[]): Promise<number> {
  const admin = testKafka('bench-e2e-admin').admin();
  await admin.connect();
  try {
    let sum = 0;
    for (const topic of topics) for (const o of await admin.fetchTopicOffsets(topic)) sum += Number(o.high);
    return sum;
  } finally {
    await admin.disconnect();
  }
}

export async function benchE2e(): Promise<void> {
  await sharedStack().up();
  const id = uniqueName('e2e').replace(/^e2e_/, '');
  const db: Database = await benchDatabase();
  const kafka = testKafka('bench-e2e');
  const prefix = `bench_${id}`;
  const children: ChildProcess[] = [];
  const admin = kafka.admin();
  await admin.connect();
  try {
    const reader = await startReader(db, `bench_slot_${id}`, id);
    children.push(reader.child);
    const common = {
      DATABASE_URL: db.url,
      CDC_TOPIC_PREFIX: prefix,
      SCHEMA_TOPIC: `_pipeline.schemas.bench_${id}`,
    };
    const groups = ['order-processor', 'inventory-watcher', 'metrics-projector'].map((service) => ({ service, group: `${service}-${id}` }));
    for (const { service, group } of groups) {
      const extra: Record<string, string> =
        service === 'order-processor'
          ? {
              SES_ENDPOINT: sharedStack().endpoints.sesEndpoint,
              AWS_ACCESS_KEY_ID: 'local',
              AWS_SECRET_ACCESS_KEY: 'local',
              INVOICE_STORE_DIR: mkdtempSync(join(tmpdir(), 'bench-e2e-invoices-')),
              INVOICE_LINK_SECRET: 'e'.repeat(64),
            }
          : {};
      children.push(await startService(entry(service), { ...common, ...extra, CONSUMER_GROUP: group }));
    }
    const topics = (await admin.listTopics()).filter((topic) => topic.startsWith(`${prefix}.`));
    const metricsOf = async () => (await fetch(`http://127.0.0.1:${reader.port}/metrics`)).text();
    const endsBefore = await cdcEnds(topics);
    const before = await metricsOf();
    log(`demo traffic: ${RATE} actions/s for ${SECONDS} s, then until the pipeline has handled it`);
    const started = Date.now();
    const summary = await runDemo({
      pool: db.pool,
      admin,
      sesEndpoint: sharedStack().endpoints.sesEndpoint,
      rate: RATE,
      durationSeconds: SECONDS,
      seed: 42,
      groups,
    });
    const seconds = (Date.now() - started) / 1000;
    const after = await metricsOf();
    const changes = (await cdcEnds(topics)) - endsBefore;
    const ack = (q: number) => quantile(after, 'cdc_commit_to_ack_seconds', q, before) * 1000;
    log(
      `${changes} changes captured (about ${Math.round(changes / SECONDS)} changes/s over the ${SECONDS} s of writing; ${seconds.toFixed(0)} s until handled; ` +
        `${summary.orders.placed} orders, ${summary.orders.confirmed} confirmed)${summary.settled ? '' : ' — the pipeline had not caught up when measured'}`,
    );
    log(`cdc-reader          commit → Kafka ack  p50 ${ack(0.5).toFixed(1)} ms, p99 ${ack(0.99).toFixed(1)} ms`);
    for (const l of summary.latencyMs) {
      const target = l.service === 'order-processor' ? '' : `  (target p99 ≤ 100 ms: ${l.p99 <= 100 ? 'met' : 'not met'})`;
      log(`${l.service.padEnd(19)} commit → handled    p50 ${l.p50} ms, p99 ${l.p99} ms over ${l.events} events${target}`);
    }
  } finally {
    for (const child of children.reverse()) if (child.exitCode === null) await stopChild(child);
    await admin.disconnect();
    await db.drop();
    await deleteTestTopics(kafka).catch(() => undefined);
  }
}
