import type { Change, OpportunitiesRow } from '@pipeline/schemas';
import { firstEdgeRow } from '@pipeline/schemas/fixtures';
import { createTestDatabase, type TestDatabase } from '@pipeline/testing';
import { applyChange } from './apply';
import { applyChanges } from './apply-batch';

const ID = '00000000-0000-4000-8000-00000000c0c0';
const change = (op: 'c' | 'u', lsn: string, value: string): Change<OpportunitiesRow> => {
  const row: OpportunitiesRow = { ...firstEdgeRow('public.opportunities'), id: ID, stage: 'proposal', value, owner: 'ann' };
  return {
    subject: 'public.opportunities',
    unavailable: [],
    tsMs: 0,
    eventId: `7302:${lsn}:1`,
    source: {
      db: 'pipeline',
      schema: 'public',
      table: 'opportunities',
      lsn,
      txId: 1,
      commitTs: '2026-12-08T00:47:49.000000Z',
      snapshot: false,
    },
    snapshot: false,
    ...(op === 'c' ? { op, before: null, after: row } : { op, before: { ...row, value: '10.00' }, after: row }),
  } as Change<OpportunitiesRow>;
};

/**
 * Two transactions applying changes of one opportunity the projection does not hold yet — the main
 * consumer's batch with its update, and the retry copy of its insert, whose first attempt met the
 * database restarting — take turns: the later one sees what the first stored, so the aggregates
 * move once. Found by the chaos run (issue 27): both found nothing stored, both moved the stage
 * values, and the projection counted one opportunity twice.
 */
describe('two transactions applying one new opportunity at once', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('projconc');
  });
  afterAll(async () => {
    await db.drop();
  });

  it('move the aggregates once: the older change, applied second, finds the newer one stored', async () => {
    const batch = await db.pool.connect();
    const retry = await db.pool.connect();
    try {
      await batch.query('BEGIN');
      await applyChanges(batch, [change('u', '0/20', '20.00')], 0);
      await retry.query('BEGIN');
      // The retry copy of the insert, while the batch's transaction is still open.
      const late = applyChange(retry, change('c', '0/10', '10.00'), 0).then(async (applied) => {
        await retry.query('COMMIT');
        return applied;
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      await batch.query('COMMIT');
      expect(await late).toBe('older');
    } finally {
      batch.release();
      retry.release();
    }
    const { rows } = await db.pool.query<{ stage: string; n: number; total: string }>(
      'SELECT stage, opportunity_count AS n, total_value::text AS total FROM pipeline_stage_values WHERE opportunity_count <> 0 ORDER BY stage',
    );
    expect(rows).toEqual([{ stage: 'proposal', n: 1, total: '20.00' }]);
  }, 60_000);
});
