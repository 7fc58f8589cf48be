import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { parseLsn } from '@pipeline/schemas';
import { freePort, seededRandom, testNumber, testPool } from '@pipeline/testing';
import { consume, type ReaderFixture, type Received, readerFixture } from './__tests__/harness';
import { startReaderProcess } from './__tests__/process';

const KILLS = testNumber('CRASH_KILLS', 20);
const WRITERS = 4;

interface Run {
  startedAtMs: number;
  /** The slot's confirmed position right after this run was killed. */
  confirmedAfterKill: bigint;
}

describe('cdc-reader crash safety: SIGKILL at random moments while sessions commit back-to-back', () => {
  let fixture: ReaderFixture;

  beforeAll(async () => {
    fixture = await readerFixture('crash');
  });
  afterAll(async () => {
    await fixture.close();
  });

  const startProcess = (port: number): Promise<ChildProcess> =>
    startReaderProcess({ ...fixture.env(), CDC_HEARTBEAT_INTERVAL_MS: '200' }, port);

  async function confirmedFlush(): Promise<bigint> {
    const { rows } = await fixture.db.pool.query<{ lsn: string }>(
      'SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1',
      [fixture.slot],
    );
    return parseLsn(rows[0]?.lsn ?? '0/0');
  }

  it(`loses nothing, and duplicates only unconfirmed transactions, across ${KILLS} kills`, async () => {
    const seed = testNumber('CRASH_SEED', Date.now() % 1_000_000);
    // Printed so a failure can be replayed with CRASH_SEED=<seed>.
    process.stdout.write(`crash test seed: ${seed}\n`);
    const random = seededRandom(seed);

    // Writers: several sessions committing small transactions back-to-back.
    const writerPool = testPool({ connectionString: fixture.db.url, max: WRITERS });
    let writing = true;
    let committed = 0;
    const startWriters = () =>
      Array.from({ length: WRITERS }, async (_, w) => {
        let seq = 0;
        while (writing) {
          const client = await writerPool.connect();
          try {
            await client.query('BEGIN');
            const rows = 1 + (seq % 3);
            for (let r = 0; r < rows; r++) {
              await client.query('INSERT INTO suppliers (name, default_order_quantity) VALUES ($1, $2)', [`w${w}-${seq}-${r}`, 1 + r]);
            }
            await client.query('COMMIT');
            committed += rows;
          } finally {
            client.release();
          }
          seq++;
        }
      });

    const port = await freePort();
    const runs: Run[] = [];
    let writers: Promise<void>[] = [];
    for (let kill = 0; kill < KILLS; kill++) {
      const startedAtMs = Date.now();
      const child = await startProcess(port);
      // The first run creates the slot: writing starts once it exists (the snapshot of rows that
      // existed before is part 2's business).
      if (kill === 0) writers = startWriters();
      // Killed at a random moment after this run made progress (it may first re-decode a backlog).
      const before = runs.at(-1)?.confirmedAfterKill ?? 0n;
      while ((await confirmedFlush()) <= before) await new Promise((resolve) => setTimeout(resolve, 20));
      await new Promise((resolve) => setTimeout(resolve, random() * 1_000));
      child.kill('SIGKILL');
      await once(child, 'exit');
      runs.push({ startedAtMs, confirmedAfterKill: await confirmedFlush() });
    }
    writing = false;
    await Promise.all(writers);
    await writerPool.end();

    // A last run catches up with everything.
    const finalStart = Date.now();
    const final = await startProcess(port);
    const { rows } = await fixture.db.pool.query<{ id: string }>('SELECT id::text FROM suppliers');
    const ids = new Set(rows.map((r) => r.id));
    expect(ids.size).toBe(committed);
    const arrived = new Set<string>();
    let received: Received[] = [];
    try {
      received = await consume(
        fixture,
        [fixture.topic('suppliers')],
        (r) => {
          // Incremental: a set rebuilt per record would make this quadratic.
          const last = r.at(-1)?.envelope.after?.id;
          if (typeof last === 'string') arrived.add(last);
          return arrived.size >= ids.size;
        },
        120_000,
        true,
      );
    } finally {
      final.kill('SIGTERM');
      await once(final, 'exit');
    }

    const seen = new Set(received.map((r) => String(r.envelope.after?.id)));
    const missing = [...ids].filter((id) => !seen.has(id));
    if (missing.length > 0) {
      const { rows: lost } = await fixture.db.pool.query<{ name: string; xmin: string }>(
        'SELECT name, xmin::text FROM suppliers WHERE id = ANY($1::uuid[]) ORDER BY name LIMIT 20',
        [missing],
      );
      process.stdout.write(
        `crash test: ${missing.length} rows missing, for example ${JSON.stringify(lost)}; confirmed after each kill: ${runs
          .map((r) => r.confirmedAfterKill.toString(16))
          .join(' ')}\n`,
      );
    }
    // Nothing lost: the events' rows are exactly the table's rows.
    expect(new Set(received.map((r) => String(r.envelope.after?.id)))).toEqual(ids);

    // Every copy of an event is identical to the first (same id, same content, same key).
    const byId = new Map<string, Received[]>();
    for (const r of received) byId.set(r.envelope.eventId, [...(byId.get(r.envelope.eventId) ?? []), r]);
    const duplicated = [...byId.values()].filter((copies) => copies.length > 1);
    for (const copies of duplicated) {
      const [first, ...rest] = copies as [Received, ...Received[]];
      for (const copy of rest) {
        expect({ key: copy.key, after: copy.envelope.after, lsn: copy.envelope.source.lsn }).toEqual({
          key: first.key,
          after: first.envelope.after,
          lsn: first.envelope.source.lsn,
        });
      }
    }

    // The slot's confirmed position moved forward between every two kills.
    for (let i = 1; i < runs.length; i++) {
      expect([i, (runs[i] as Run).confirmedAfterKill > (runs[i - 1] as Run).confirmedAfterKill]).toEqual([i, true]);
    }

    // A copy produced after restart k belongs to a transaction not yet confirmed at kill k.
    const startTimes = [...runs.map((r) => r.startedAtMs), finalStart];
    const runOf = (tsMs: number) => startTimes.filter((t) => t <= tsMs).length - 1;
    for (const copies of duplicated) {
      const sorted = [...copies].sort((a, b) => a.envelope.tsMs - b.envelope.tsMs);
      for (const copy of sorted.slice(1)) {
        const run = runOf(copy.envelope.tsMs);
        const confirmedBefore = (runs[run - 1] as Run).confirmedAfterKill;
        expect([copy.envelope.eventId, parseLsn(copy.envelope.source.lsn) >= confirmedBefore]).toEqual([copy.envelope.eventId, true]);
      }
    }
    process.stdout.write(
      `crash test: ${committed} rows, ${received.length} events, ${duplicated.length} events redelivered after ${KILLS} kills\n`,
    );
  }, 300_000);
});
