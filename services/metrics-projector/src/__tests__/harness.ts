import { join } from 'node:path';
import {
  createTestDatabase,
  eventually,
  groupCaughtUp,
  sharedStack,
  startServiceChild,
  type TestChild,
  type TestDatabase,
  testKafka,
  uniqueName,
} from '@pipeline/testing';
import type { Kafka } from 'kafkajs';
import { startTestReader, type TestReader } from '../../../cdc-reader/src/__tests__/process';

/** The compiled service (npm run build): what is deployed, and what can be SIGKILLed. */
export const PROJECTOR_ENTRY = join(__dirname, '..', '..', 'dist', 'main.js');

export interface ProjectorStack {
  db: TestDatabase;
  kafka: Kafka;
  topic: string;
  group: string;
  schemaTopic: string;
  /** The cdc-reader the stack runs (its slot; restart it with other settings). */
  reader: TestReader;
  /** What the projector runs with (database, broker, topics, group): for its tasks too. */
  env: Record<string, string>;
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
  const group = uniqueName(`test-${name}`);
  await options.beforeReader?.(db);
  let reader: TestReader;
  try {
    reader = await startTestReader(db, name);
  } catch (error) {
    await db.drop();
    throw error;
  }
  const { prefix, schemaTopic } = reader;
  const env = {
    DATABASE_URL: db.url,
    KAFKA_BROKERS: sharedStack().endpoints.kafkaBrokers.join(','),
    CDC_TOPIC_PREFIX: prefix,
    SCHEMA_TOPIC: schemaTopic,
    CONSUMER_GROUP: group,
  };
  const stack: ProjectorStack = {
    db,
    kafka,
    topic: `${prefix}.public.opportunities`,
    group,
    schemaTopic,
    reader,
    env,
    projector: undefined,
    projectorPort: 0,
    startProjector: async (extra = {}) => {
      const child = await startServiceChild(PROJECTOR_ENTRY, { ...env, ...extra });
      stack.projector = child;
      stack.projectorPort = child.port;
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
      await reader.published(db, timeoutMs);
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
      await reader.stop();
      await db.drop();
    },
  };
  return stack;
}
