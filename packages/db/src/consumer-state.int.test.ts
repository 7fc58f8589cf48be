import { DeadlineExceededError } from '@pipeline/runtime';
import { createTestDatabase, type TestDatabase } from '@pipeline/testing';
import { alertDeadLetter } from './alerts';
import { applyBatchInTransaction, applyWithCheckpoint, readCheckpoints } from './checkpoints';
import { EffectNotPerformedError, performEffect, UnrecordedEffectError, unrecordedEffects } from './effects';
import { processOnce } from './idempotency';
import { outcomesOf, recordOutcome } from './outcomes';
import { makePool, type PoolClient, withTransaction } from './pool';

describe('consumer state in PostgreSQL: idempotency, effects ledger, checkpoints', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('consumer_state');
  });
  afterAll(async () => {
    await db.drop();
  });

  const count = async (sql: string, params: unknown[] = []) => Number((await db.pool.query<{ n: string }>(sql, params)).rows[0]?.n);

  describe('processOnce', () => {
    it('applies an event once; a redelivery is skipped and changes nothing', async () => {
      const effect = (client: PoolClient) => client.query(`INSERT INTO tasks (type, title) VALUES ('t', 'once')`);
      expect((await processOnce(db.pool, 'svc', 'e-1', effect)).status).toBe('processed');
      expect((await processOnce(db.pool, 'svc', 'e-1', effect)).status).toBe('skipped');
      expect(await count(`SELECT count(*) AS n FROM tasks WHERE title = 'once'`)).toBe(1);
      // Another consumer of the same event is independent.
      expect((await processOnce(db.pool, 'other', 'e-1', async () => undefined)).status).toBe('processed');
    });

    it('rolls the marker back with the effects when the handler fails, so a retry applies it', async () => {
      await expect(
        processOnce(db.pool, 'svc', 'e-2', async (client) => {
          await client.query(`INSERT INTO tasks (type, title) VALUES ('t', 'failed')`);
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect(await count(`SELECT count(*) AS n FROM tasks WHERE title = 'failed'`)).toBe(0);
      expect((await processOnce(db.pool, 'svc', 'e-2', async () => 'ok')).status).toBe('processed');
    });

    it('rolls everything back with a retriable deadline error when the signal aborted during the effects', async () => {
      const deadline = new AbortController();
      const error = await processOnce(
        db.pool,
        'svc',
        'e-late',
        async (client) => {
          await client.query(`INSERT INTO tasks (type, title) VALUES ('t', 'late')`);
          deadline.abort();
        },
        deadline.signal,
      ).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DeadlineExceededError);
      expect(error).toMatchObject({ retriable: true, code: 'DEADLINE_EXCEEDED' });
      expect((error as Error).message).toBe('event e-late in svc passed its deadline and was rolled back');
      expect(await count(`SELECT count(*) AS n FROM tasks WHERE title = 'late'`)).toBe(0);
      expect(await count(`SELECT count(*) AS n FROM processed_events WHERE event_id = 'e-late'`)).toBe(0);
      // Already aborted: nothing starts.
      await expect(processOnce(db.pool, 'svc', 'e-late', async () => 'never', deadline.signal)).rejects.toBeInstanceOf(
        DeadlineExceededError,
      );
      expect((await processOnce(db.pool, 'svc', 'e-late', async () => 'ok')).status).toBe('processed');
    });

    it('lets exactly one of several concurrent deliveries apply', async () => {
      const results = await Promise.all(
        Array.from({ length: 5 }, () =>
          processOnce(db.pool, 'svc', 'e-3', async (client) => {
            await client.query(`INSERT INTO tasks (type, title) VALUES ('t', 'concurrent')`);
          }),
        ),
      );
      expect(results.filter((r) => r.status === 'processed')).toHaveLength(1);
      expect(await count(`SELECT count(*) AS n FROM tasks WHERE title = 'concurrent'`)).toBe(1);
    });
  });

  describe('performEffect', () => {
    it('never performs a recorded effect again, across redelivery and a new process (a fresh pool)', async () => {
      let sends = 0;
      const send = async () => ({ providerRef: `ses-${++sends}` });
      const spec = { key: 'order:1', effect: 'confirmation-email', policy: 'retry' as const };
      expect(await performEffect(db.pool, spec, send)).toEqual({ status: 'performed', providerRef: 'ses-1' });
      expect(await performEffect(db.pool, spec, send)).toEqual({ status: 'already-recorded', providerRef: 'ses-1' });
      // A new pool, as a restarted process would have: the ledger is all it knows.
      const restarted = makePool({ connectionString: db.url, applicationName: 'restarted' });
      expect(await performEffect(restarted, { ...spec, policy: 'stop' }, send)).toEqual({
        status: 'already-recorded',
        providerRef: 'ses-1',
      });
      await restarted.end();
      expect(sends).toBe(1);
    });

    it('leaves a claim whose outcome is unknown; policy retry performs it again, policy stop waits for a person', async () => {
      const timeout = async () => {
        throw new Error('socket timeout after the request was sent');
      };
      await expect(performEffect(db.pool, { key: 'order:2', effect: 'email', policy: 'retry' }, timeout)).rejects.toThrow('socket timeout');
      expect((await unrecordedEffects(db.pool)).map((e) => [e.key, e.effect, e.attempts, e.lastError])).toEqual([
        ['order:2', 'email', 1, 'socket timeout after the request was sent'],
      ]);
      const stopped = await performEffect(db.pool, { key: 'order:2', effect: 'email', policy: 'stop' }, async () => ({
        providerRef: 'x',
      })).catch((e: unknown) => e);
      expect(stopped).toBeInstanceOf(UnrecordedEffectError);
      expect(stopped).toMatchObject({ retriable: false });
      expect((stopped as Error).message).toMatch(
        /^effect email for order:2 was claimed at .* but never recorded: it may or may not have happened/,
      );
      expect(
        await performEffect(db.pool, { key: 'order:2', effect: 'email', policy: 'retry' }, async () => ({ providerRef: 'ses-9' })),
      ).toEqual({
        status: 'performed',
        providerRef: 'ses-9',
      });
      expect(await unrecordedEffects(db.pool)).toEqual([]);
    });

    it('looks at the deadline before claiming and before performing, never after: a performed effect is always recorded', async () => {
      const aborted = new AbortController();
      aborted.abort();
      let sends = 0;
      const send = async () => ({ providerRef: `ses-${++sends}` });
      await expect(
        performEffect(db.pool, { key: 'order:5', effect: 'email', policy: 'stop' }, send, aborted.signal),
      ).rejects.toBeInstanceOf(DeadlineExceededError);
      expect(sends).toBe(0);
      expect(await count(`SELECT count(*) AS n FROM effects_ledger WHERE effect_key = 'order:5'`)).toBe(0);
      // The deadline passes while the provider is at work: the effect happened, so it is recorded.
      const late = new AbortController();
      const slowSend = async () => {
        late.abort();
        return { providerRef: 'ses-late' };
      };
      expect(await performEffect(db.pool, { key: 'order:5', effect: 'email', policy: 'stop' }, slowSend, late.signal)).toEqual({
        status: 'performed',
        providerRef: 'ses-late',
      });
      expect(await performEffect(db.pool, { key: 'order:5', effect: 'email', policy: 'stop' }, send)).toEqual({
        status: 'already-recorded',
        providerRef: 'ses-late',
      });
      expect(sends).toBe(0);
    });

    it('releases the claim when the provider certainly refused, so a later attempt starts clean', async () => {
      const rejected = async () => {
        throw new EffectNotPerformedError('MessageRejected: Email address is not verified', { retriable: false });
      };
      await expect(performEffect(db.pool, { key: 'order:3', effect: 'email', policy: 'stop' }, rejected)).rejects.toThrow(
        'MessageRejected',
      );
      expect(await count(`SELECT count(*) AS n FROM effects_ledger WHERE effect_key = 'order:3'`)).toBe(0);
      expect(
        (await performEffect(db.pool, { key: 'order:3', effect: 'email', policy: 'stop' }, async () => ({ providerRef: 'ok' }))).status,
      ).toBe('performed');
    });

    it('runs one attempt at a time: a racing second attempt backs off with a retriable error', async () => {
      let release: () => void = () => undefined;
      const slow = performEffect(
        db.pool,
        { key: 'order:4', effect: 'email', policy: 'retry' },
        () =>
          new Promise((resolve) => {
            release = () => resolve({ providerRef: 'slow' });
          }),
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
      await expect(
        performEffect(db.pool, { key: 'order:4', effect: 'email', policy: 'retry' }, async () => ({ providerRef: 'fast' })),
      ).rejects.toMatchObject({
        code: 'EFFECT_IN_PROGRESS',
        retriable: true,
      });
      release();
      expect(await slow).toEqual({ status: 'performed', providerRef: 'slow' });
    });
  });

  describe('applyWithCheckpoint', () => {
    const at = (offset: string) => ({ projection: 'sales', topic: 'cdc.public.opportunities', partition: 1, offset });
    const bump = async (client: PoolClient): Promise<void> => {
      await client.query(`INSERT INTO pipeline_stage_values (stage, opportunity_count) VALUES ('won', 1)
                    ON CONFLICT (stage) DO UPDATE SET opportunity_count = pipeline_stage_values.opportunity_count + 1`);
    };
    const value = async () => count(`SELECT opportunity_count AS n FROM pipeline_stage_values WHERE stage = 'won'`);

    it('applies each offset once, skipping anything at or below the stored checkpoint', async () => {
      expect(await applyWithCheckpoint(db.pool, at('10'), bump)).toBe('applied');
      expect(await applyWithCheckpoint(db.pool, at('10'), bump)).toBe('skipped');
      expect(await applyWithCheckpoint(db.pool, at('9'), bump)).toBe('skipped');
      expect(await applyWithCheckpoint(db.pool, at('11'), bump)).toBe('applied');
      expect(await value()).toBe(2);
      expect(await readCheckpoints(db.pool, 'sales', 'cdc.public.opportunities')).toEqual(new Map([[1, '11']]));
    });

    it('never commits for a handler that passed its deadline', async () => {
      const controller = new AbortController();
      const error = await applyWithCheckpoint(
        db.pool,
        at('12'),
        async (client) => {
          await bump(client);
          controller.abort();
        },
        controller.signal,
      ).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DeadlineExceededError);
      expect(error).toMatchObject({ retriable: true });
      expect(await value()).toBe(2);
      expect(await readCheckpoints(db.pool, 'sales', 'cdc.public.opportunities')).toEqual(new Map([[1, '11']]));
    });
  });

  describe('applyWithCheckpoint with event ids (retry and redrive copies)', () => {
    it('skips an event already applied from another topic, and a second copy of a retry', async () => {
      const bumps: string[] = [];
      const apply = (id: string) => async () => {
        bumps.push(id);
      };
      const source = { projection: 'metrics', topic: 'cdc.public.opportunities', partition: 0 };
      const retry = { projection: 'metrics', topic: 'metrics.retry.1', partition: 2 };
      expect(await applyWithCheckpoint(db.pool, { ...source, offset: '5', eventId: 'ev-a' }, apply('a'))).toBe('applied');
      // ev-b failed at offset 6 and went to the retry topic, where it was copied twice.
      expect(await applyWithCheckpoint(db.pool, { ...source, offset: '7', eventId: 'ev-c' }, apply('c'))).toBe('applied');
      expect(await applyWithCheckpoint(db.pool, { ...retry, offset: '0', eventId: 'ev-b' }, apply('b'))).toBe('applied');
      expect(await applyWithCheckpoint(db.pool, { ...retry, offset: '1', eventId: 'ev-b' }, apply('b'))).toBe('skipped');
      // A redrive of an event that was applied after all.
      expect(await applyWithCheckpoint(db.pool, { ...retry, offset: '2', eventId: 'ev-a' }, apply('a'))).toBe('skipped');
      expect(bumps).toEqual(['a', 'c', 'b']);
      expect(await readCheckpoints(db.pool, 'metrics', 'metrics.retry.1')).toEqual(new Map([[2, '2']]));
    });
  });

  describe('applyBatchInTransaction', () => {
    it('hands on each event once: not what is at or below the checkpoint, an id applied before, or a second copy in the batch', async () => {
      const source = { projection: 'batches', topic: 'cdc.public.opportunities', partition: 0 };
      const batch = (offsets: [string, string | undefined][]) => ({
        ...source,
        messages: offsets.map(([offset, eventId]) => (eventId === undefined ? { offset } : { offset, eventId })),
      });
      const handed: number[][] = [];
      const run = (offsets: [string, string | undefined][]) =>
        withTransaction(db.pool, (client) =>
          applyBatchInTransaction(client, batch(offsets), async (_client, fresh) => {
            handed.push([...fresh]);
          }),
        );
      expect(
        await run([
          ['0', 'ev-1'],
          ['1', 'ev-2'],
        ]),
      ).toEqual(['applied', 'applied']);
      // ev-1 again from a later offset (the reader wrote it twice), ev-3 twice in this batch, one without an id.
      expect(
        await run([
          ['1', 'ev-2'],
          ['2', 'ev-1'],
          ['3', 'ev-3'],
          ['4', 'ev-3'],
          ['5', undefined],
          ['6', 'ev-4'],
        ]),
      ).toEqual(['skipped', 'skipped', 'applied', 'skipped', 'applied', 'applied']);
      expect(handed).toEqual([
        [0, 1],
        [2, 4, 5],
      ]);
      expect(await readCheckpoints(db.pool, 'batches', source.topic)).toEqual(new Map([[0, '6']]));
    });
  });

  describe('dead-letter alerts for admins', () => {
    it('writes one notification per service and error code per window, and the next says how many it held back', async () => {
      const alert = {
        service: 'alerts-svc',
        group: 'alerts-svc',
        errorCode: 'ORDER_INVALID',
        errorMessage: 'no customer',
        topic: 't',
        partition: 0,
        offset: '1',
      };
      const sent = [];
      for (let i = 0; i < 5; i++) sent.push(await alertDeadLetter(db.pool, alert, 300));
      // Another error code has its own window.
      sent.push(await alertDeadLetter(db.pool, { ...alert, errorCode: 'SCHEMA_UNKNOWN' }, 300));
      // So has another consumer group of the service, whose alert names its group in every command.
      sent.push(await alertDeadLetter(db.pool, { ...alert, group: 'alerts-audit' }, 300));
      expect(sent).toEqual([true, false, false, false, false, true, true]);
      await new Promise((resolve) => setTimeout(resolve, 350));
      expect(await alertDeadLetter(db.pool, alert, 300)).toBe(true);
      const { rows } = await db.pool.query<{ message: string }>(
        `SELECT message FROM notifications WHERE type = 'dead_letter' AND title LIKE 'alerts-svc:%ORDER_INVALID%' ORDER BY created_at`,
      );
      expect(rows).toHaveLength(3);
      expect(rows[0]?.message).toContain('`pipeline dlq redrive --service alerts-svc`;');
      expect(rows[1]?.message).toContain('consumer group alerts-audit');
      expect(rows[1]?.message).toContain('`pipeline dlq redrive --service alerts-svc --group alerts-audit`;');
      expect(rows[2]?.message).toContain('4 more with this error since the last alert.');
    });
  });

  describe('event outcomes', () => {
    it('records each outcome of an event and reads its trail back in order', async () => {
      const base = {
        service: 'order-processor',
        group: 'order-processor',
        eventId: 'sys:0/1:0',
        topic: 'cdc.public.orders',
        partition: 1,
        offset: '7',
      };
      await recordOutcome(db.pool, { ...base, outcome: 'retried', attempt: 1, error: 'SES throttled' });
      await recordOutcome(db.pool, { ...base, topic: 'order-processor.retry.1', offset: '0', outcome: 'processed', attempt: 2 });
      await recordOutcome(db.pool, { ...base, service: 'inventory-watcher', group: 'inventory-watcher', outcome: 'skipped', attempt: 1 });
      await recordOutcome(db.pool, { ...base, group: 'order-audit', outcome: 'processed', attempt: 1 });
      const trail = await outcomesOf(db.pool, 'sys:0/1:0');
      expect(trail.map((o) => [o.service, o.group, o.topic, o.outcome, o.attempt, o.error])).toEqual([
        ['order-processor', 'order-processor', 'cdc.public.orders', 'retried', 1, 'SES throttled'],
        ['order-processor', 'order-processor', 'order-processor.retry.1', 'processed', 2, undefined],
        ['inventory-watcher', 'inventory-watcher', 'cdc.public.orders', 'skipped', 1, undefined],
        ['order-processor', 'order-audit', 'cdc.public.orders', 'processed', 1, undefined],
      ]);
    });
  });
});
