/**
 * A consumer service in miniature, run as a child process by the kill tests: JSON events, effects
 * through processOnce (for `projection` mode, applyWithCheckpoint; for `ledger` mode, an external
 * effect through performEffect that appends `perform <id>` to EFFECT_LOG, and `recorded <id>` once
 * the ledger holds it). Settings come from
 * the environment; KILL_AFTER_RETRY_COPY=1 makes it kill itself right after a retry copy is
 * durable and before the original's offset can be committed.
 */
import { appendFileSync } from 'node:fs';
import { applyWithCheckpoint, makePool, performEffect, processOnce } from '@pipeline/db';
import { makeKafka } from '@pipeline/kafka';
import { makeLogger, PipelineError } from '@pipeline/runtime';
import { inheritedEnv } from '@pipeline/testing';
import { logLevel } from 'kafkajs';
import { ConsumerRunner } from '../runner';

const env = inheritedEnv();
const service = env.SERVICE as string;
const pool = makePool({ connectionString: env.DATABASE_URL as string, applicationName: service });
const kafka = makeKafka(
  { clientId: service, brokers: (env.KAFKA_BROKERS as string).split(',') },
  makeLogger({ service, level: 'silent' }),
  logLevel.NOTHING,
);
let failedOnce = false;

const runner = new ConsumerRunner<{ id: string; fail?: boolean }>({
  kafka,
  service,
  topics: [env.TOPIC as string],
  retry: { delaysMs: [100], jitter: 0 },
  // The broker's minimum: a killed member's partitions move on after 6 s instead of 30.
  sessionTimeoutMs: 6_000,
  handlerTimeoutMs: 3_000,
  decode: async (value) => JSON.parse(String(value)) as { id: string; fail?: boolean },
  handle: async (event, context) => {
    if (event.fail && context.attempt === 1) throw new PipelineError('first attempt fails', { code: 'ONCE', retriable: true });
    await new Promise((resolve) => setTimeout(resolve, Number(env.HANDLE_MS ?? 2)));
    if (env.MODE === 'ledger') {
      const log = env.EFFECT_LOG as string;
      const done = await performEffect(pool, { key: `${service}:${event.id}`, effect: 'send', policy: 'retry' }, async () => {
        appendFileSync(log, `perform ${event.id}\n`);
        return { providerRef: `ref-${event.id}` };
      });
      if (done.status === 'performed') appendFileSync(log, `recorded ${event.id}\n`);
    } else if (env.MODE === 'projection' && context.attempt === 1) {
      await applyWithCheckpoint(
        pool,
        { projection: service, topic: context.topic, partition: context.partition, offset: context.offset },
        async (client) => {
          await client.query(`INSERT INTO tasks (type, title) VALUES ($1, $2)`, [service, event.id]);
        },
      );
    } else {
      await processOnce(pool, service, event.id, async (client) => {
        await client.query(`INSERT INTO tasks (type, title) VALUES ($1, $2)`, [service, event.id]);
      });
    }
  },
  onOutcome: (outcome) => {
    if (outcome === 'retried' && env.KILL_AFTER_RETRY_COPY === '1' && !failedOnce) {
      failedOnce = true;
      process.kill(process.pid, 'SIGKILL');
    }
  },
  logger: makeLogger({ service, level: 'silent' }),
});

runner.start().then(
  () => process.stdout.write('started\n'),
  (error: unknown) => {
    process.stderr.write(`${String(error)}\n`);
    process.exit(1);
  },
);
