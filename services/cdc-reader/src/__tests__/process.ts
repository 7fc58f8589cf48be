import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Pool } from '@pipeline/db';
import { eventually, freePort, inheritedEnv, sharedStack, testLogLevel, uniqueName } from '@pipeline/testing';

/** The compiled reader (npm run build). */
export const READER_ENTRY = join(__dirname, '..', '..', 'dist', 'main.js');

/** Starts the reader as a process and resolves once /readyz says it streams. */
export async function startReaderProcess(env: Record<string, string>, port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [READER_ENTRY], {
    env: { PATH: inheritedEnv().PATH ?? '', ...env, HTTP_PORT: String(port) },
    // The channel: if this test process dies, the reader stops by itself (the runtime watches it, as under `pipeline start`).
    stdio: ['ignore', testLogLevel() ? 'inherit' : 'ignore', 'inherit', 'ipc'],
  });
  child.channel?.unref();
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200) return child;
    } catch {
      // Not listening yet.
    }
    if (child.exitCode !== null) throw new Error(`the reader exited with ${child.exitCode}`);
    if (Date.now() > deadline) throw new Error('the reader did not become ready');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Resident set size of a process, in bytes (Linux /proc). */
export function rssBytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match?.[1] ? Number(match[1]) * 1024 : 0;
}

/** Samples a process's RSS every `everyMs` until stopped; returns the peak. */
export function sampleRss(pid: number, everyMs = 50): { stop: () => number } {
  let peak = 0;
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, rssBytes(pid));
    } catch {
      // The process ended.
    }
  }, everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      return peak;
    },
  };
}

/** What a service's end-to-end test runs the reader with: its own slot, topic prefix, schema and dead-letter topics. */
export interface TestReader {
  child: ChildProcess;
  slot: string;
  prefix: string;
  schemaTopic: string;
  /** Its CDC_DLQ_TOPIC. */
  deadLetterTopic: string;
  /** Resolves once the reader has published every change committed before the call. */
  published(db: { pool: Pool }, timeoutMs?: number): Promise<void>;
  /** Starts the reader again with the same slot and topics (and `env` added), once it was stopped. */
  restart(env?: Record<string, string>): Promise<void>;
  stop(): Promise<void>;
}

/** Starts the compiled reader on `db` (as its reader role) with names of its own, and waits until it streams. */
export async function startTestReader(db: { readerUrl: string }, name: string): Promise<TestReader> {
  const slot = uniqueName(`slot_${name}`);
  const prefix = uniqueName(`test_${name}`);
  const schemaTopic = uniqueName(`_pipeline.schemas.${name}`);
  const deadLetterTopic = uniqueName(`_pipeline.cdc.dlq.${name}`);
  const env = {
    DATABASE_URL: db.readerUrl,
    KAFKA_BROKERS: sharedStack().endpoints.kafkaBrokers.join(','),
    CDC_SLOT_NAME: slot,
    CDC_TOPIC_PREFIX: prefix,
    CDC_SCHEMA_TOPIC: schemaTopic,
    CDC_DLQ_TOPIC: deadLetterTopic,
    LOG_LEVEL: testLogLevel('warn'),
  };
  let child = await startReaderProcess(env, await freePort());
  const reader: TestReader = {
    get child() {
      return child;
    },
    slot,
    prefix,
    schemaTopic,
    deadLetterTopic,
    published: async (target, timeoutMs = 120_000) => {
      const { rows } = await target.pool.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
      // A change after everything so far: once the reader confirmed it, it has published all before it.
      await target.pool.query(`INSERT INTO customers (email, name) VALUES ($1, 'marker')`, [`marker-${randomUUID()}@example.com`]);
      await eventually(
        'the reader to publish everything committed',
        async () => {
          const { rows: done } = await target.pool.query<{ done: boolean }>(
            'SELECT confirmed_flush_lsn >= $2::pg_lsn AS done FROM pg_replication_slots WHERE slot_name = $1',
            [slot, rows[0]?.lsn],
          );
          return done[0]?.done ? true : undefined;
        },
        timeoutMs,
      );
    },
    restart: async (extra = {}) => {
      await reader.stop();
      child = await startReaderProcess({ ...env, ...extra }, await freePort());
    },
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
  return reader;
}
