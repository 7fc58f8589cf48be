import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureTopics } from '@pipeline/kafka';
import { cdcTopic, listSubjects } from '@pipeline/schemas';
import { createTestDatabase, freePort, inheritedEnv, sharedStack, type TestDatabase, testKafka, uniqueName } from '@pipeline/testing';
import { SERVICES, serviceEntryPoint } from './services';

interface Run {
  child: ChildProcess;
  output: () => string;
  exit: Promise<number | null>;
}

function runService(name: (typeof SERVICES)[number]['name'], env: Record<string, string>): Run {
  const child = spawn(process.execPath, [serviceEntryPoint(sharedStack().config.repoRoot, name)], {
    env: { PATH: inheritedEnv().PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += String(chunk);
  });
  child.stderr?.on('data', (chunk) => {
    output += String(chunk);
  });
  const exit = once(child, 'exit').then(([code]) => code as number | null);
  return { child, output: () => output, exit };
}

async function waitForReady(port: number, run: Run): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/readyz`);
      if (response.status === 200) return (await response.json()) as Record<string, unknown>;
    } catch {
      // Not listening yet.
    }
    if (run.child.exitCode !== null) throw new Error(`service exited early:\n${run.output()}`);
    if (Date.now() > deadline) throw new Error(`not ready in time:\n${run.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe.each(SERVICES.map((s) => s.name))('service %s as a process', (name) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('svc');
  });
  afterAll(async () => {
    await db.drop();
  });

  it('refuses a bad configuration: exit code 78 and a message naming the variable', async () => {
    const run = runService(name, { DATABASE_URL: db.url, KAFKA_BROKERS: 'no-port-here', HTTP_PORT: 'http' });
    expect(await run.exit).toBe(78);
    expect(run.output()).toContain(`Invalid configuration for ${name}:`);
    expect(run.output()).toContain('KAFKA_BROKERS: expected each broker as host:port, for example 127.0.0.1:19092 (got "no-port-here")');
    expect(run.output()).toContain('HTTP_PORT: expected a TCP port number (got "http")');
  });

  it('serves /healthz, /readyz and /metrics, logs JSON, and stops cleanly on SIGTERM', async () => {
    const port = await freePort();
    const endpoints = sharedStack().endpoints;
    const prefix = uniqueName('svc');
    // The cdc topics, as the reader would have created them: a consumer waits (503) until those of its tables exist.
    const admin = testKafka('svc-topics').admin();
    await admin.connect();
    await ensureTopics(
      admin,
      listSubjects().map((subject) => ({ topic: cdcTopic(prefix, subject), numPartitions: 1, replicationFactor: 1 })),
    );
    await admin.disconnect();
    const run = runService(name, {
      DATABASE_URL: name === 'cdc-reader' ? db.readerUrl : db.url,
      KAFKA_BROKERS: endpoints.kafkaBrokers.join(','),
      SES_ENDPOINT: endpoints.sesEndpoint,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      INVOICE_STORE_DIR: mkdtempSync(join(tmpdir(), 'svc-invoices-')),
      INVOICE_LINK_SECRET: 'x'.repeat(32),
      WEBHOOK_SECRETS_KEY: Buffer.alloc(32, 5).toString('base64'),
      HTTP_PORT: String(port),
      SHUTDOWN_TIMEOUT_MS: '10000',
      // Slots are per server and topics per broker: this test's own.
      CDC_SLOT_NAME: uniqueName('svc_slot'),
      CDC_TOPIC_PREFIX: prefix,
      CDC_SCHEMA_TOPIC: uniqueName('_pipeline.schemas.svc'),
      CDC_DLQ_TOPIC: uniqueName('_pipeline.cdc.dlq.svc'),
    });
    try {
      // A consumer is ready once its topics exist (one with no handlers at once).
      const checks =
        name === 'cdc-reader' ? { database: 'ok', kafka: 'ok', replication: 'ok' } : { database: 'ok', kafka: 'ok', consumer: 'ok' };
      expect(await waitForReady(port, run)).toEqual({ status: 'ready', checks });
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toContain(`process_cpu_user_seconds_total{service="${name}"}`);
      if (name === 'cdc-reader') {
        for (const series of [
          'cdc_events_total',
          'cdc_transactions_total',
          'cdc_produced_bytes_total',
          'cdc_commit_to_ack_seconds',
          'cdc_confirmed_lsn',
          'cdc_slot_lag_bytes',
          'cdc_slot_retained_wal_bytes',
          'cdc_reconnects_total',
        ]) {
          expect(metrics).toContain(`# TYPE ${series} `);
        }
      }
      if (name === 'inventory-watcher') {
        // Its business series exist from the start, at 0.
        expect(metrics).toMatch(/^inventory_reorder_tasks_created_total\{source="daily_check",service="inventory-watcher"\} 0$/m);
        expect(metrics).toContain('# TYPE inventory_daily_check_runs_total counter');
      }
    } finally {
      run.child.kill('SIGTERM');
    }
    expect(await run.exit).toBe(0);
    const lines = run
      .output()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { msg: string; service: string });
    expect(lines.every((line) => line.service === name)).toBe(true);
    expect(lines.map((line) => line.msg)).toEqual(expect.arrayContaining([`${name} started`, 'shutting down', 'stopped cleanly']));
    // The connection URL carries a password: it must never be logged.
    expect(run.output()).not.toContain('pipeline_reader@');
    expect(run.output()).not.toContain(':pipeline@');
  });
});
