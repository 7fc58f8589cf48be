import type { PoolClient } from '@pipeline/db';
import { StoredCache } from './stored-cache';

const at = (lsn: bigint) => ({ lsn, ordinal: 0 });
const entry = (id: string, lsn: bigint) => ({
  id,
  state: { stage: 'proposal', value: '1.00', owner: null, closedMonth: null },
  position: at(lsn),
  partition: 0,
});

/** A client whose reads of the stored table are recorded (not the per-opportunity locks before them) and answer the rows given. */
function client(rows: Record<string, unknown>[] = []) {
  const queries: unknown[][] = [];
  const fake = {
    query: async (text: string, values: unknown[]) => {
      if (!/FROM opportunity_projection/.test(text)) return { rows: [] };
      queries.push(values);
      return { rows };
    },
  };
  return { queries, client: fake as unknown as PoolClient };
}

describe('a rebuild’s memory of what it stored', () => {
  it('answers from memory while it knows everything; a batch’s writes count once it committed', async () => {
    const cache = new StoredCache();
    const db = client();
    const first = cache.forBatch();
    expect(await first.read(db.client, ['a'])).toEqual(new Map());
    first.wrote([entry('a', 5n)]);
    // Its own batch sees it at once (a batch is applied in runs around the end of a snapshot); another only once committed.
    expect((await first.read(db.client, ['a'])).get('a')?.position).toEqual(at(5n));
    expect(await cache.forBatch().read(db.client, ['a'])).toEqual(new Map());
    first.committed();
    expect((await cache.forBatch().read(db.client, ['a', 'b'])).get('a')?.position).toEqual(at(5n));
    expect(db.queries).toEqual([]);
  });

  it('after a failed batch, or past its limit, it forgets and reads the table', async () => {
    for (const lose of ['failed', 'limit'] as const) {
      const cache = new StoredCache(lose === 'limit' ? 1 : 10);
      const batch = cache.forBatch();
      batch.wrote([entry('a', 5n), entry('b', 6n)]);
      if (lose === 'failed') batch.failed();
      else batch.committed();
      const db = client([
        {
          opportunity_id: 'a',
          stage: 'proposal',
          value: '1.00',
          owner: null,
          closed_month: null,
          position_lsn: '5',
          position_ord: 0,
          source_partition: 0,
          deleted: false,
        },
      ]);
      const found = await cache.forBatch().read(db.client, ['a', 'b']);
      expect(db.queries).toEqual([[['a', 'b']]]);
      expect([...found.keys()]).toEqual(['a']);
    }
  });
});
