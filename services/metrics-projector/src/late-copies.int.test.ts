import { withTransaction } from '@pipeline/db';
import type { Change, OpportunitiesRow, SnapshotEnd } from '@pipeline/schemas';
import { firstEdgeRow } from '@pipeline/schemas/fixtures';
import { createTestDatabase, type TestDatabase } from '@pipeline/testing';
import { type Applied, applyChange, applySnapshotEnd } from './apply';
import { applyChanges } from './apply-batch';

const source = (lsn: string) => ({
  db: 'pipeline',
  schema: 'public',
  table: 'opportunities',
  lsn,
  txId: 1,
  commitTs: '2026-12-03T10:00:00.000000Z',
  snapshot: false,
});
const row = (n: number): OpportunitiesRow => ({
  ...firstEdgeRow('public.opportunities'),
  id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
  stage: 'proposal',
  value: '10.00',
  owner: 'ann',
});
const base = { subject: 'public.opportunities', unavailable: [], tsMs: 0 };
const insert = (n: number, lsn: string): Change<OpportunitiesRow> => ({
  ...base,
  eventId: `7301:${lsn}:1`,
  source: source(lsn),
  op: 'c',
  snapshot: false,
  before: null,
  after: row(n),
});
const update = (n: number, lsn: string): Change<OpportunitiesRow> => ({
  ...base,
  eventId: `7301:${lsn}:1`,
  source: source(lsn),
  op: 'u',
  snapshot: false,
  before: row(n),
  after: { ...row(n), value: '20.00' },
});
const truncate = (lsn: string): Change<OpportunitiesRow> => ({
  ...base,
  eventId: `7301:${lsn}:0:p0`,
  source: source(lsn),
  op: 't',
  snapshot: false,
  before: null,
  after: null,
});
const snapshotEnd = (lsn: string): SnapshotEnd => ({
  kind: 'snapshot-end',
  subject: 'public.opportunities',
  db: 'pipeline',
  schema: 'public',
  table: 'opportunities',
  slot: 'pipeline',
  consistentPoint: lsn,
  partition: 0,
  partitions: 1,
  rows: 0,
  eventId: `7301:${lsn}:e:public.opportunities:p0`,
  tsMs: 0,
});

/**
 * A late copy (a retry) of a change older than a truncate or the end of a new snapshot, for an
 * opportunity the projection does not hold, never brings it back: the partition's floor says
 * everything below was removed. Straight against the projection's SQL, change by change and in batches.
 */
describe('late copies past a truncate or the end of a snapshot', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('projlate');
  });
  afterAll(async () => {
    await db.drop();
  });

  const one = (change: Change<OpportunitiesRow>) => withTransaction(db.pool, (client) => applyChange(client, change, 0));
  const batch = (changes: Change<OpportunitiesRow>[]) => withTransaction(db.pool, (client) => applyChanges(client, changes, 0));
  const stages = async () =>
    (
      await db.pool.query<{ stage: string; n: number; total: string }>(
        'SELECT stage, opportunity_count AS n, total_value::text AS total FROM pipeline_stage_values ORDER BY stage',
      )
    ).rows;

  it('ignores them, change by change and in a batch, while newer changes still count', async () => {
    expect(await one(truncate('0/100'))).toBe<Applied>('truncated');
    // Its insert was on the retry ladder when the truncate came.
    expect(await one(insert(1, '0/50'))).toBe('older');
    expect(await batch([insert(2, '0/60'), update(3, '0/70')])).toEqual(['older', 'older']);
    expect(await stages()).toEqual([]);

    expect(await batch([insert(4, '0/200'), insert(5, '0/210')])).toEqual(['moved', 'moved']);
    expect(await stages()).toEqual([{ stage: 'proposal', n: 2, total: '20.00' }]);

    // A new snapshot re-reads neither (both were deleted while no slot existed): its end removes them.
    const removed = await withTransaction(db.pool, (client) => applySnapshotEnd(client, snapshotEnd('0/300'), 0));
    expect(removed.map((entry) => entry.id).sort()).toEqual([row(4).id, row(5).id]);
    expect(await stages()).toEqual([]);
    // A late update of one of them, and a late insert of one never seen: older than the snapshot.
    expect(await one(update(4, '0/250'))).toBe('older');
    expect(await batch([insert(6, '0/260')])).toEqual(['older']);
    expect(await stages()).toEqual([]);

    // What the snapshot read, and what came after it, counts.
    const snapshotRow: Change<OpportunitiesRow> = {
      ...base,
      eventId: `7301:0/300:r:public.opportunities:${row(7).id}`,
      source: { ...source('0/300'), snapshot: true },
      op: 'r',
      snapshot: true,
      before: null,
      after: row(7),
    };
    expect(await batch([snapshotRow, insert(8, '0/310')])).toEqual(['moved', 'moved']);
    expect(await stages()).toEqual([{ stage: 'proposal', n: 2, total: '20.00' }]);
  });
});
