import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { outcomesOf } from '@pipeline/db';
import {
  createTestDatabase,
  runPipeline,
  startConsumerChild,
  type TestChild,
  type TestDatabase,
  taskEffects,
  testKafka,
  topicWithOrders,
  uniqueName,
} from '@pipeline/testing';

/**
 * A service SIGKILLed between performing an effect (an email) and recording it leaves an open
 * claim; with policy stop the redelivered event becomes a dead letter. An operator then says what
 * happened with `pipeline effects release | mark-recorded | abandon`, and the next redrive
 * follows that: performs it again, skips it, or completes the event without it.
 */
describe('pipeline effects after a crash between an effect and its record', () => {
  let db: TestDatabase;
  let child: TestChild | undefined;
  const service = uniqueName('test-effects');

  beforeAll(async () => {
    db = await createTestDatabase('effects');
  });
  afterAll(async () => {
    if (child && child.process.exitCode === null && child.process.signalCode === null) {
      child.process.kill('SIGTERM');
      await child.exited;
    }
    await db.drop();
  });

  const pipeline = (args: string[]) => runPipeline([...args, '--database-url', db.url], { PIPELINE_ACTOR: 'carol' });
  const outcomesFor = async (id: string) => (await outcomesOf(db.pool, id)).map((o) => `${o.outcome}@${o.attempt}`);

  it('release performs it again, mark-recorded skips it, abandon completes the event without it', async () => {
    const { prefix, ids } = await topicWithOrders(testKafka('effects'), 'effects', 3);
    const log = join(mkdtempSync(join(tmpdir(), 'effects-')), 'sent.log');
    const orderId = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
    const sent = () => {
      const counts: Record<string, number> = {};
      for (const id of readFileSync(log, 'utf8').split('\n').filter(Boolean)) counts[id] = (counts[id] ?? 0) + 1;
      return counts;
    };
    const env = { SERVICE: service, CDC_TOPIC_PREFIX: prefix, EFFECT_LOG: log, RETRY_DELAYS_MS: '300' };

    // Each order's first send kills the service before the ledger records it; restarted, the
    // service meets the open claim and dead-letters the event (policy stop).
    const deadline = Date.now() + 120_000;
    let kills = 0;
    for (;;) {
      child = await startConsumerChild(db.url, { ...env, KILL_AFTER_PERFORM: '1' });
      const allDead = (async () => {
        for (;;) {
          const outcomes = await Promise.all(ids.map(outcomesFor));
          if (outcomes.every((trail) => trail.includes('dead_lettered@1'))) return 'dead';
          if (Date.now() > deadline) return 'timeout';
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      })();
      const ended = await Promise.race([child.exited.then(() => 'exited'), allDead]);
      if (ended === 'dead') break;
      if (ended === 'timeout')
        throw new Error(`the events were not all dead-lettered: ${JSON.stringify(await Promise.all(ids.map(outcomesFor)))}`);
      expect((await child.exited).signal).toBe('SIGKILL');
      kills++;
    }
    expect(kills).toBe(3);
    expect(sent()).toEqual({ [orderId(0)]: 1, [orderId(1)]: 1, [orderId(2)]: 1 });
    const [letter] = await outcomesOf(db.pool, ids[0] as string);
    expect(letter?.error).toContain(`EFFECT_UNRECORDED: effect confirmation-email for order:${orderId(0)} was claimed at`);
    expect(letter?.error).toContain(`\`pipeline effects release "order:${orderId(0)}" --effect confirmation-email\``);

    const open = JSON.parse(pipeline(['effects', 'list', '--json']).stdout) as { key: string; status: string; attempts: number }[];
    expect(open.map((e) => [e.key, e.status]).sort()).toEqual([0, 1, 2].map((i) => [`order:${orderId(i)}`, 'claimed']));

    const decide = (args: string[]) => {
      const result = pipeline(['effects', ...args, '--effect', 'confirmation-email']);
      expect(result.stderr).toBe('');
      return result.stdout;
    };
    expect(decide(['release', `order:${orderId(0)}`, '--note', 'SES has no message for it'])).toBe(
      `confirmation-email for order:${orderId(0)}: released; a redrive of its event performs it (by carol)\n`,
    );
    decide(['mark-recorded', `order:${orderId(1)}`, '--ref', 'ses-0100', '--note', 'found in the SES send log']);
    decide(['abandon', `order:${orderId(2)}`, '--note', 'the customer asked us not to send it']);
    const again = pipeline(['effects', 'release', `order:${orderId(1)}`, '--effect', 'confirmation-email', '--note', 'oops']);
    expect(again.status).toBe(1);
    expect(again.stderr).toContain(`is recorded, not an open claim: it happened (provider reference ses-0100), and a redrive skips it`);
    expect(pipeline(['effects', 'list']).stdout).toBe('no open claims: every effect is recorded or abandoned\n');

    // The service, healthy again, gets its dead letters back.
    if (child.process.exitCode === null) {
      child.process.kill('SIGTERM');
      await child.exited;
    }
    child = await startConsumerChild(db.url, env);
    const redriven = pipeline(['dlq', 'redrive', '--service', service]);
    expect(redriven.stdout).toContain('redrove 3 letter(s)');
    while (!(await Promise.all(ids.map(outcomesFor))).every((trail) => trail.includes('processed@1'))) {
      if (Date.now() > deadline)
        throw new Error(`the redriven events were not processed: ${JSON.stringify(await Promise.all(ids.map(outcomesFor)))}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    // Released: sent again. Marked recorded: not sent again. Abandoned: never sent again, the event completed.
    expect(sent()).toEqual({ [orderId(0)]: 2, [orderId(1)]: 1, [orderId(2)]: 1 });
    expect((await taskEffects(db.pool, service)).map((t) => t.n)).toEqual(['1', '1', '1']);
    const ledger = JSON.parse(pipeline(['effects', 'list', '--all', '--json']).stdout) as {
      key: string;
      status: string;
      providerRef: string;
    }[];
    expect(ledger.map((e) => [e.key, e.status, e.providerRef]).sort()).toEqual([
      [`order:${orderId(0)}`, 'recorded', `sent-${orderId(0)}-2`],
      [`order:${orderId(1)}`, 'recorded', 'ses-0100'],
      [`order:${orderId(2)}`, 'abandoned', null],
    ]);
    const shown = JSON.parse(pipeline(['effects', 'show', `order:${orderId(2)}`, '--effect', 'confirmation-email', '--json']).stdout) as {
      actions: { action: string; actor: string; note: string }[];
    };
    expect(shown.actions).toEqual([
      expect.objectContaining({ action: 'abandoned', actor: 'carol', note: 'the customer asked us not to send it' }),
    ]);
  }, 180_000);
});
