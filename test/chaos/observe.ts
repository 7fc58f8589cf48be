import type { Pool } from '@pipeline/db';
import { readDeadLetterTopic } from '@pipeline/kafka';
import { DEFAULT_TOPIC_PREFIX } from '@pipeline/schemas';
import type { Kafka } from 'kafkajs';
import type { LogLine } from '../../packages/cli/src/__tests__/pipeline-run';
import { capturedTables, readCaptured, witnessedTransactions } from './capture';
import type { EmailKind, Letter, Observation, Subscribed } from './invariants/observation';
import type { ChaosWorkload } from './workload';

interface SesEmail {
  destination: { to: string[] };
  subject: string;
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;

/** The kind of a confirmation, shipped or cancelled email, from its subject (the templates' words). */
function kindOf(subject: string): EmailKind | undefined {
  if (/ is confirmed/.test(subject)) return 'confirmation';
  if (/ has shipped/.test(subject)) return 'shipped';
  if (/ was cancelled/.test(subject)) return 'cancelled';
  return undefined;
}

export interface ObserveInput {
  pool: Pool;
  kafka: Kafka;
  sesEndpoint: string;
  workload: ChaosWorkload;
  subscriptions: Subscribed[];
  lines: LogLine[];
  killed: { service: string; pid: number }[];
  /** The cdc-reader's dead-letter topic. */
  readerDlqTopic: string;
}

/** Reads back everything the invariants judge (after the pipeline went quiet). */
export async function observe(input: ObserveInput): Promise<Observation> {
  const { pool, kafka, workload } = input;
  const marker = `demo-${workload.runId}-`;
  const { rows: orders } = await pool.query<{ id: string; status: string }>(
    `SELECT o.id::text, o.status FROM orders o JOIN customers c ON c.id = o.customer_id WHERE c.email LIKE $1 ORDER BY o.created_at`,
    [`${marker}%`],
  );
  const { rows: actions } = await pool.query<Observation['actions'][number]>(
    'SELECT kind, subject::text, amount FROM chaos_actions WHERE run_id = $1 ORDER BY id',
    [workload.runId],
  );

  const store = (await (await fetch(`${input.sesEndpoint}/store`, { signal: AbortSignal.timeout(30_000) })).json()) as {
    emails: SesEmail[];
  };
  const emails: Observation['emails'] = [];
  const unreadableEmails: string[] = [];
  for (const email of store.emails) {
    if (!email.destination.to.some((to) => to.includes(marker))) continue;
    const orderId = UUID.exec(email.subject)?.[0];
    const kind = kindOf(email.subject);
    if (orderId && kind) emails.push({ orderId, kind });
    else unreadableEmails.push(email.subject);
  }

  const admin = kafka.admin();
  await admin.connect();
  let topics: string[];
  try {
    topics = await admin.listTopics();
  } finally {
    await admin.disconnect();
  }
  const letters: Letter[] = [];
  for (const topic of topics.filter((t) => t.endsWith('.dlq') || t === input.readerDlqTopic).sort()) {
    for (const letter of await readDeadLetterTopic(kafka, topic)) {
      letters.push({ topic, code: letter.errorCode, message: letter.errorMessage, eventId: letter.eventId });
    }
  }

  const captured = await capturedTables(pool);
  const cdcTopics = topics.filter((t) => [...captured].some((table) => t === `${DEFAULT_TOPIC_PREFIX}.${table}`)).sort();
  return {
    pool,
    runId: workload.runId,
    initial: workload.initial,
    orders,
    actions,
    emails,
    unreadableEmails,
    letters,
    events: await readCaptured(kafka, cdcTopics),
    witnessed: await witnessedTransactions(pool, captured),
    subscriptions: input.subscriptions,
    lines: input.lines,
    killed: input.killed,
  };
}
