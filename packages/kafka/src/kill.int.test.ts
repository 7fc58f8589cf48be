import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  createTestDatabase,
  inheritedEnv,
  sharedStack,
  type TestDatabase,
  taskEffects,
  testKafka,
  uniqueName,
  untilTaskEffects,
} from '@pipeline/testing';
import type { Kafka } from 'kafkajs';
import { ensureTopics } from './topics';

const CHILD = join(__dirname, '__tests__', 'runner-child.ts');
const COUNT = 400;

/** Consumers killed with SIGKILL and restarted: no effect lost, none applied twice (checked in the database). */
describe('consumer runner killed with SIGKILL', () => {
  let kafka: Kafka;
  let db: TestDatabase;
  beforeAll(async () => {
    kafka = testKafka('kill');
    db = await createTestDatabase('kill');
  });
  afterAll(async () => {
    await db.drop();
  });

  async function source(messages: unknown[]): Promise<string> {
    const topic = uniqueName('test.kill');
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, [{ topic, numPartitions: 3, replicationFactor: 1 }]);
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, messages: messages.map((m, i) => ({ key: `k${i % 11}`, value: JSON.stringify(m) })) });
    await producer.disconnect();
    return topic;
  }

  function start(env: Record<string, string>): ChildProcess {
    return spawn(process.execPath, ['--require', 'tsx/cjs', CHILD], {
      env: { ...inheritedEnv(), DATABASE_URL: db.url, KAFKA_BROKERS: sharedStack().endpoints.kafkaBrokers.join(','), ...env },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  }

  const effects = (service: string) => taskEffects(db.pool, service);
  const untilEffects = (service: string, count: number) => untilTaskEffects(db.pool, service, count);

  it.each(['idempotent', 'projection'])(
    'in the middle of a batch (%s handler)',
    async (mode) => {
      const service = uniqueName(`test-kill-${mode}`);
      const topic = await source(Array.from({ length: COUNT }, (_, i) => ({ id: `e${i}` })));
      const env = { SERVICE: service, TOPIC: topic, MODE: mode, HANDLE_MS: '5' };
      for (let round = 0; round < 3; round++) {
        const child = start(env);
        // Killed once it has applied some, mid-stream.
        const before = (await effects(service)).length;
        const deadline = Date.now() + 30_000;
        while ((await effects(service)).length < Math.min(COUNT, before + 60) && Date.now() < deadline)
          await new Promise((resolve) => setTimeout(resolve, 20));
        child.kill('SIGKILL');
        await once(child, 'exit');
      }
      const last = start(env);
      try {
        await untilEffects(service, COUNT);
      } finally {
        last.kill('SIGTERM');
        await once(last, 'exit');
      }
      const rows = await effects(service);
      expect(rows).toHaveLength(COUNT);
      expect(rows.filter((r) => r.n !== '1')).toEqual([]);
    },
    180_000,
  );

  it('with an external effect through the ledger: every effect performed, none performed again once recorded', async () => {
    const service = uniqueName('test-kill-ledger');
    const log = join(mkdtempSync(join(tmpdir(), 'ledger-')), 'effects.log');
    writeFileSync(log, '');
    const topic = await source(Array.from({ length: COUNT }, (_, i) => ({ id: `e${i}` })));
    const env = { SERVICE: service, TOPIC: topic, MODE: 'ledger', HANDLE_MS: '5', EFFECT_LOG: log };
    const recorded = async () =>
      Number(
        (
          await db.pool.query<{ n: string }>(
            `SELECT count(*) AS n FROM effects_ledger WHERE effect = 'send' AND status = 'recorded' AND effect_key LIKE $1`,
            [`${service}:%`],
          )
        ).rows[0]?.n,
      );
    for (let round = 0; round < 3; round++) {
      const child = start(env);
      const before = await recorded();
      const deadline = Date.now() + 30_000;
      while ((await recorded()) < Math.min(COUNT, before + 60) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
    const last = start(env);
    try {
      const deadline = Date.now() + 60_000;
      while ((await recorded()) < COUNT && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    } finally {
      last.kill('SIGTERM');
      await once(last, 'exit');
    }
    expect(await recorded()).toBe(COUNT);
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    rmSync(dirname(log), { recursive: true, force: true });
    const performed = new Map<string, number>();
    const recordedAt = new Map<string, number>();
    const again: string[] = [];
    lines.forEach((line, at) => {
      const [what, id = ''] = line.split(' ');
      if (what === 'perform') {
        if (recordedAt.has(id)) again.push(id);
        performed.set(id, (performed.get(id) ?? 0) + 1);
      } else recordedAt.set(id, at);
    });
    expect(again).toEqual([]);
    expect(performed.size).toBe(COUNT);
    // A second perform happens only for a claim a kill left unrecorded: at most one per partition per kill.
    const twice = [...performed.values()].filter((n) => n > 1).length;
    process.stdout.write(`ledger kill test: ${lines.length} log lines, ${twice} effects performed twice after 3 kills\n`);
    expect(twice).toBeLessThanOrEqual(3 * 3);
  }, 180_000);

  it('between producing a retry copy and committing the original: the event is still applied once', async () => {
    const service = uniqueName('test-kill-retry');
    const topic = await source([{ id: 'flaky', fail: true }, ...Array.from({ length: 20 }, (_, i) => ({ id: `ok${i}` }))]);
    const first = start({ SERVICE: service, TOPIC: topic, KILL_AFTER_RETRY_COPY: '1' });
    const [, signal] = await once(first, 'exit');
    expect(signal).toBe('SIGKILL');
    const second = start({ SERVICE: service, TOPIC: topic });
    try {
      await untilEffects(service, 21);
    } finally {
      second.kill('SIGTERM');
      await once(second, 'exit');
    }
    const rows = await effects(service);
    expect(rows.find((r) => r.title === 'flaky')?.n).toBe('1');
    expect(rows).toHaveLength(21);
  }, 120_000);
});
