import { outcomesOf } from '@pipeline/db';
import type { OpportunitiesRow } from '@pipeline/schemas';
import { firstEdgeRow } from '@pipeline/schemas/fixtures';
import { changeMessage, eventually } from '@pipeline/testing';
import { type ProjectorStack, projectorStack } from './__tests__/harness';

/** Batches: one transaction per batch and partition; a failing batch goes message by message, so only the poison is a dead letter. */
describe('metrics-projector batches', () => {
  let stack: ProjectorStack;
  beforeAll(async () => {
    stack = await projectorStack('projbatch');
    await stack.db.pool.query(`INSERT INTO opportunities (name, stage, value, owner) VALUES ('Warm', 'proposal', 1, 'ann')`);
    await stack.startProjector();
    await stack.settled();
  }, 120_000);
  afterAll(async () => {
    await stack?.close();
  });

  it('a batch with a poison change falls back to one by one: the poison is a dead letter, the rest applied once', async () => {
    const row = (n: number): OpportunitiesRow => ({
      ...firstEdgeRow('public.opportunities'),
      id: `00000000-0000-4000-8000-00000000000${n}`,
      stage: 'negotiation',
      value: `${n}.00`,
      owner: 'zed',
    });
    const producer = stack.kafka.producer();
    await producer.connect();
    try {
      await producer.send({
        topic: stack.topic,
        messages: [
          { ...changeMessage('public.opportunities', '7000000000000000001:FF/1:0', 'c', row(1)).message, partition: 0 },
          { ...changeMessage('public.opportunities', 'written-by-hand', 'c', row(2)).message, partition: 0 },
          { ...changeMessage('public.opportunities', '7000000000000000001:FF/1:1', 'c', row(3)).message, partition: 0 },
        ],
      });
    } finally {
      await producer.disconnect();
    }
    const letter = await eventually('the dead letter', async () => (await outcomesOf(stack.db.pool, 'written-by-hand'))[0]);
    expect(letter).toMatchObject({ outcome: 'dead_lettered', attempt: 1 });
    expect(letter.error).toMatch(/^INVALID_EVENT_ID: "written-by-hand" is not an event id of the cdc-reader/);
    for (const id of ['7000000000000000001:FF/1:0', '7000000000000000001:FF/1:1']) {
      await eventually(`${id} applied`, async () => ((await outcomesOf(stack.db.pool, id)).length > 0 ? true : undefined));
      expect((await outcomesOf(stack.db.pool, id)).map((o) => `${o.outcome}@${o.attempt}`)).toEqual(['processed@1']);
    }
    const { rows } = await stack.db.pool.query(
      `SELECT stage, opportunity_count, total_value::text AS total FROM pipeline_stage_values WHERE stage = 'negotiation'`,
    );
    expect(rows).toEqual([{ stage: 'negotiation', opportunity_count: 2, total: '4.00' }]);
    const metrics = await (await fetch(`http://127.0.0.1:${stack.projectorPort}/metrics`)).text();
    expect(
      Number(/^consumer_batch_fallbacks_total\{reason="apply",service="metrics-projector"\} (\d+)$/m.exec(metrics)?.[1]),
    ).toBeGreaterThanOrEqual(1);
    expect(Number(/^consumer_batch_size_count\{service="metrics-projector"\} (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);
  }, 60_000);
});
