import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { join } from 'node:path';
import {
  createTestDatabase,
  eventually,
  freePort,
  groupCaughtUp,
  inheritedEnv,
  sharedStack,
  spawnNode,
  type TestChild,
  type TestDatabase,
  testKafka,
  testLogLevel,
  uniqueName,
} from '@pipeline/testing';
import type { Kafka } from 'kafkajs';
import { startReaderProcess } from '../../../cdc-reader/src/__tests__/process';

/** The compiled service (npm run build): what is deployed, and what can be SIGKILLed. */
export const PROJECTOR_ENTRY = join(__dirname, '..', '..', 'dist', 'main.js');

export interface ProjectorStack {
  db: TestDatabase;
  kafka: Kafka;
  topic: string;
  group: string;
  schemaTopic: string;
  projector: TestChild | undefined;
  /** The running projector's HTTP port (/metrics). */
  projectorPort: number;
  startProjector(env?: Record<string, string>): Promise<TestChild>;
  killProjector(): Promise<void>;
  /** Waits until the reader has published everything committed so far and the projector has applied it. */
  settled(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function projectorStack(
  name: string,
  options: { beforeReader?: (db: TestDatabase) => Promise<void> } = {},
): Promise<ProjectorStack> {
  const db = await createTestDatabase(name);
  const kafka = testKafka(name);
  const prefix = uniqueName(`test_${name}`);
  const schemaTopic = uniqueName(`_pipeline.schemas.${name}`);
  const group = uniqueName(`test-${name}`);
  const slot = uniqueName(`slot_${name}`);
  await options.beforeReader?.(db);
  let reader: ChildProcess | undefined;
  const stack: ProjectorStack = {
    db,
    kafka,
    topic: `${prefix}.public.opportunities`,
    group,
    schemaTopic,
    projector: undefined,
    projectorPort: 0,
    startProjector: async (env = {}) => {
      const port = await freePort();
      const child = spawnNode([PROJECTOR_ENTRY], {
        PATH: inheritedEnv().PATH ?? '',
        DATABASE_URL: db.url,
        KAFKA_BROKERS: sharedStack().endpoints.kafkaBrokers.join(','),
        CDC_TOPIC_PREFIX: prefix,
        SCHEMA_TOPIC: schemaTopic,
        CONSUMER_GROUP: group,
        HTTP_PORT: String(port),
        RETRY_DELAYS_MS: '1000,1000,1000',
        CONSUMER_SESSION_TIMEOUT_MS: '6000',
        HANDLER_TIMEOUT_MS: '5000',
        SHUTDOWN_GRACE_MS: '1500',
        SHUTDOWN_TIMEOUT_MS: '8000',
        LOG_LEVEL: testLogLevel('warn'),
        ...env,
      });
      stack.projector = child;
      stack.projectorPort = port;
      await eventually(
        `metrics-projector ready on ${port}`,
        async () => {
          if (child.process.exitCode !== null) throw new Error(`metrics-projector exited with ${child.process.exitCode}`);
          try {
            return (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200 ? true : undefined;
          } catch {
            return undefined;
          }
        },
        60_000,
      );
      return child;
    },
    killProjector: async () => {
      const child = stack.projector;
      if (child && child.process.exitCode === null && child.process.signalCode === null) {
        child.process.kill('SIGKILL');
        await child.exited;
      }
    },
    settled: async (timeoutMs = 120_000) => {
      const { rows } = await db.pool.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
      // A change after everything so far: once the reader confirmed it, it has published all before it.
      await db.pool.query(`INSERT INTO customers (email, name) VALUES ($1, 'marker')`, [`marker-${randomUUID()}@example.com`]);
      await eventually(
        'the reader to publish everything committed',
        async () => {
          const { rows: done } = await db.pool.query<{ done: boolean }>(
            'SELECT confirmed_flush_lsn >= $2::pg_lsn AS done FROM pg_replication_slots WHERE slot_name = $1',
            [slot, rows[0]?.lsn],
          );
          return done[0]?.done ? true : undefined;
        },
        timeoutMs,
      );
      await groupCaughtUp(kafka, group, `${prefix}.public.opportunities`, timeoutMs);
      // And nothing waits on a retry topic: every retried event has a later outcome.
      await eventually(
        'every retried event handled',
        async () => {
          const { rows: waiting } = await db.pool.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM (SELECT DISTINCT ON (event_id) outcome FROM event_outcomes WHERE consumer_group = $1
               ORDER BY event_id, id DESC) last WHERE outcome = 'retried'`,
            [group],
          );
          return waiting[0]?.n === 0 ? true : undefined;
        },
        timeoutMs,
      );
    },
    close: async () => {
      const child = stack.projector;
      if (child && child.process.exitCode === null && child.process.signalCode === null) {
        child.process.kill('SIGTERM');
        await child.exited;
      }
      if (reader && reader.exitCode === null) {
        reader.kill('SIGTERM');
        await once(reader, 'exit');
      }
      await db.drop();
    },
  };
  try {
    reader = await startReaderProcess(
      {
        DATABASE_URL: db.readerUrl,
        KAFKA_BROKERS: sharedStack().endpoints.kafkaBrokers.join(','),
        CDC_SLOT_NAME: slot,
        CDC_TOPIC_PREFIX: prefix,
        CDC_SCHEMA_TOPIC: schemaTopic,
        CDC_DLQ_TOPIC: uniqueName(`_pipeline.cdc.dlq.${name}`),
        LOG_LEVEL: testLogLevel('warn'),
      },
      await freePort(),
    );
  } catch (error) {
    await stack.close();
    throw error;
  }
  return stack;
}
