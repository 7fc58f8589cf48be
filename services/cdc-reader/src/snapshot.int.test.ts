import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { Envelope } from '@pipeline/schemas';
import { freePort, inheritedEnv } from '@pipeline/testing';
import type pg from 'pg';
import {
  consume,
  consumeWithEnds,
  type ReaderFixture,
  type Received,
  readerFixture,
  startReader,
  waitStreaming,
} from './__tests__/harness';
import { READER_ENTRY, startReaderProcess } from './__tests__/process';

type Row = Record<string, unknown>;

/** The opportunities table as the test compares it: id → "name|stage|value|owner". */
async function tableState(pool: pg.Pool): Promise<Map<string, string>> {
  const { rows } = await pool.query<{ id: string; v: string }>(
    `SELECT id::text, concat_ws('|', name, stage, value::text, coalesce(owner, '∅')) AS v FROM opportunities`,
  );
  return new Map(rows.map((r) => [r.id, r.v]));
}

const render = (row: Row | null | undefined): string =>
  row ? [row.name, row.stage, row.value, row.owner ?? '∅'].map(String).join('|') : '';

/** Replays change events per key, checking the snapshot's consistency with the stream as it goes. */
class Replay {
  readonly state = new Map<string, string>();
  readonly problems: string[] = [];
  private readonly lastOp = new Map<string, { op: string; after: string }>();
  private seen = 0;

  apply(received: readonly Received[]): void {
    for (; this.seen < received.length; this.seen++) {
      const { envelope } = received[this.seen] as Received;
      const e = envelope as Envelope<Row>;
      const id = String((e.after ?? e.before)?.id);
      const previous = this.lastOp.get(id);
      if (e.op === 'c' && previous && previous.op !== 'd') this.problems.push(`insert of ${id} after its ${previous.op} without a delete`);
      // Consistency: the row a snapshot read is exactly the before of the key's next change.
      if (previous?.op === 'r' && e.before && render(e.before) !== previous.after && e.op !== 'r') {
        this.problems.push(`${id}: snapshot row ${previous.after} but the next change's before is ${render(e.before)}`);
      }
      if (e.op === 'd') this.state.delete(id);
      else this.state.set(id, render(e.after));
      this.lastOp.set(id, { op: e.op, after: render(e.after) });
    }
  }
}

const equal = (a: Map<string, string>, b: Map<string, string>): boolean => a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);

async function seed(pool: pg.Pool, rows: number): Promise<void> {
  await pool.query(
    `INSERT INTO opportunities (name, stage, value, owner)
     SELECT 'deal ' || g, 'prospecting', g * 10, CASE WHEN g % 3 = 0 THEN NULL ELSE 'owner ' || (g % 7) END
       FROM generate_series(1, $1) AS g`,
    [rows],
  );
}

describe('initial snapshot', () => {
  let fixture: ReaderFixture;
  afterEach(async () => {
    await fixture.close();
  });

  it('while other sessions keep writing: every row arrives, consistent with the stream that follows', async () => {
    fixture = await readerFixture('snapshot');
    const { pool } = fixture.db;
    await seed(pool, 20_000);
    let writing = true;
    let writes = 0;
    const writer = async (n: number): Promise<void> => {
      while (writing) {
        const pick = Math.random();
        if (pick < 0.6) {
          await pool.query(
            `UPDATE opportunities SET value = value + 1, stage = 'qualification', updated_at = now()
              WHERE id = (SELECT id FROM opportunities TABLESAMPLE SYSTEM (1) LIMIT 1)`,
          );
        } else if (pick < 0.8) {
          await pool.query(`INSERT INTO opportunities (name, value, owner) VALUES ($1, 5, 'writer')`, [`new ${n}-${writes}`]);
        } else {
          await pool.query(`DELETE FROM opportunities WHERE id = (SELECT id FROM opportunities TABLESAMPLE SYSTEM (1) LIMIT 1)`);
        }
        writes++;
      }
    };
    const writers = [writer(1), writer(2)];
    await new Promise((resolve) => setTimeout(resolve, 300));
    const { reader, metrics } = startReader(fixture);
    await waitStreaming(reader, 120_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    writing = false;
    await Promise.all(writers);
    const final = await tableState(pool);
    const replay = new Replay();
    const { changes: received, ends } = await consumeWithEnds(fixture, [fixture.topic('opportunities')], (all, ends) => {
      replay.apply(all);
      return equal(replay.state, final) && ends.length > 0 && ends.length === ends[0]?.end.partitions;
    });
    await reader.stop();
    const reads = received.filter((r) => r.envelope.op === 'r');
    process.stdout.write(
      `snapshot test: ${reads.length} rows read by the snapshot, ${received.length - reads.length} changes streamed, ${writes} writes\n`,
    );
    expect(replay.problems).toEqual([]);
    expect(reads.length).toBeGreaterThan(19_000);
    expect(received.length - reads.length).toBeGreaterThan(0);
    // Snapshot events follow the contract: op r, the consistent point as LSN, deterministic ids.
    const first = reads[0]?.envelope;
    expect(first?.source.snapshot).toBe(true);
    expect(first?.eventId).toMatch(/^\d+:[0-9A-F]+\/[0-9A-F]+:r:public\.opportunities:[0-9a-f-]{36}$/);
    expect(new Set(reads.map((r) => r.envelope.eventId)).size).toBe(reads.length);
    const progress = await pool.query<{ table_name: string; rows_emitted: string; done: boolean }>(
      'SELECT table_name, rows_emitted::text, done FROM cdc_reader.snapshot_progress WHERE slot_name = $1 ORDER BY 1',
      [fixture.slot],
    );
    expect(progress.rows.every((r) => r.done)).toBe(true);
    expect(progress.rows.find((r) => r.table_name === 'public.opportunities')?.rows_emitted).toBe(String(reads.length));
    // Every table's series starts at 0; the snapshot read only the opportunities.
    expect((await metrics.snapshotRows.get()).values.filter((v) => v.value > 0)).toEqual([
      expect.objectContaining({ labels: { table: 'public.opportunities' }, value: reads.length }),
    ]);
    // The end of the snapshot on every partition: after each of its rows there, before every streamed change.
    expect(ends.map((e) => e.partition).sort()).toEqual(Array.from({ length: ends.length }, (_, p) => p));
    for (const { partition, offset, end, headers } of ends) {
      expect(end).toMatchObject({ subject: 'public.opportunities', partition, rows: reads.length, slot: fixture.slot });
      expect(end.consistentPoint).toBe(first?.source.lsn);
      expect(headers.control).toBe('snapshot-end');
      const here = received.filter((r) => r.partition === partition);
      const at = BigInt(offset);
      expect(here.filter((r) => r.envelope.op === 'r').every((r) => BigInt(r.offset) < at)).toBe(true);
      expect(here.filter((r) => r.envelope.op !== 'r').every((r) => BigInt(r.offset) > at)).toBe(true);
    }
  }, 180_000);

  it('killed mid-snapshot and restarted: a new slot, a new snapshot, and the final state per key is exact', async () => {
    fixture = await readerFixture('snapkill');
    const { pool } = fixture.db;
    await seed(pool, 20_000);
    const env = { ...fixture.env(), CDC_SNAPSHOT_PAGE_ROWS: '100' };
    const first = spawn(process.execPath, [READER_ENTRY], {
      env: { PATH: inheritedEnv().PATH ?? '', ...env, HTTP_PORT: String(await freePort()) },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    // Killed once the snapshot has produced some pages, before it is done.
    const emitted = async () =>
      Number(
        (
          await pool.query<{ n: string }>(
            `SELECT coalesce(sum(rows_emitted), 0)::text AS n FROM cdc_reader.snapshot_progress WHERE slot_name = $1`,
            [fixture.slot],
          )
        ).rows[0]?.n,
      );
    const deadline = Date.now() + 60_000;
    while ((await emitted()) < 2_000) {
      if (Date.now() > deadline) throw new Error('the snapshot never got going');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    first.kill('SIGKILL');
    await once(first, 'exit');
    const before = await pool.query<{ consistent_point: string }>(
      'SELECT consistent_point::text FROM cdc_reader.slots WHERE slot_name = $1',
      [fixture.slot],
    );
    // Changes while no reader runs: the new snapshot must see them.
    await pool.query(`UPDATE opportunities SET stage = 'proposal', value = value + 0.5 WHERE name LIKE 'deal 1%'`);
    await pool.query(`INSERT INTO opportunities (name, value) VALUES ('after the kill', 1)`);

    const second = await startReaderProcess(env, await freePort());
    try {
      const final = await tableState(pool);
      const replay = new Replay();
      const received = await consume(fixture, [fixture.topic('opportunities')], (all) => {
        replay.apply(all);
        return equal(replay.state, final);
      });
      const points = new Set(received.map((r) => r.envelope.source.lsn));
      process.stdout.write(`snapshot kill test: ${received.length} events from ${points.size} snapshots\n`);
      expect(points.size).toBe(2);
      expect(points.has(before.rows[0]?.consistent_point as string)).toBe(true);
    } finally {
      second.kill('SIGTERM');
      await once(second, 'exit');
    }
    const after = await pool.query<{ consistent_point: string }>(
      'SELECT consistent_point::text FROM cdc_reader.slots WHERE slot_name = $1',
      [fixture.slot],
    );
    expect(after.rows[0]?.consistent_point).not.toBe(before.rows[0]?.consistent_point);
  }, 180_000);

  it('with CDC_SNAPSHOT_MODE=never, rows that existed before the slot are not emitted', async () => {
    fixture = await readerFixture('nosnap');
    const { pool } = fixture.db;
    await seed(pool, 50);
    const { reader } = startReader(fixture, { snapshotMode: 'never' });
    await waitStreaming(reader);
    await pool.query(`INSERT INTO opportunities (name, value) VALUES ('after the slot', 1)`);
    const received = await consume(fixture, [fixture.topic('opportunities')], (all) =>
      all.some((r) => r.envelope.after?.name === 'after the slot'),
    );
    await reader.stop();
    expect(received.map((r) => r.envelope.op)).toEqual(['c']);
    const progress = await pool.query('SELECT 1 FROM cdc_reader.snapshot_progress WHERE slot_name = $1', [fixture.slot]);
    expect(progress.rows).toHaveLength(0);
  }, 60_000);
});
