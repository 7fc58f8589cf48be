import type { SlotReport } from '@pipeline/db';
import { createTestDatabase, runPipeline, type TestDatabase, testClient, uniqueName } from '@pipeline/testing';
import type pg from 'pg';

const pipeline = (args: string[]) => runPipeline(args);

describe('pipeline slot', () => {
  let db: TestDatabase;
  let slot: string;
  beforeAll(async () => {
    db = await createTestDatabase('cli_slot');
    slot = uniqueName('slot_cli').replaceAll('-', '_');
    const { rows } = await db.pool.query<{ lsn: string }>(`SELECT lsn::text FROM pg_create_logical_replication_slot($1, 'pgoutput')`, [
      slot,
    ]);
    // As the reader records a slot it created, with a snapshot half done.
    await db.pool.query(
      `INSERT INTO cdc_reader.slots (slot_name, database_system_id, publication, consistent_point, last_confirmed_lsn) VALUES ($1, '1', 'pipeline', $2, $2)`,
      [slot, rows[0]?.lsn],
    );
    await db.pool.query(
      `INSERT INTO cdc_reader.snapshot_progress (slot_name, table_name, rows_emitted, done) VALUES ($1, 'public.orders', 1200, true), ($1, 'public.suppliers', 300, false)`,
      [slot],
    );
    await db.pool.query(`INSERT INTO suppliers (name) SELECT 's' || g FROM generate_series(1, 100) g`);
  });
  afterAll(async () => {
    await db.drop();
  });

  it.each([[['slot']], [['slot', 'status']], [['slot', 'drop']]])('answers --help for %j', (command) => {
    const result = pipeline([...command, '--help']);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^Usage: pipeline slot/);
  });

  it('status shows activity, lag, WAL status, confirmed LSN and snapshot progress (table and --json)', () => {
    const json = pipeline(['slot', 'status', slot, '--json', '--database-url', db.url]);
    expect(json.status).toBe(0);
    const [report] = JSON.parse(json.stdout) as SlotReport[];
    expect(report).toMatchObject({ slot, plugin: 'pgoutput', active: false, activePid: null, leader: null, walStatus: 'reserved' });
    expect(report?.lagBytes).toBeGreaterThan(0);
    expect(report?.snapshot.map((s) => [s.table, s.rowsEmitted, s.done])).toEqual([
      ['public.orders', 1200, true],
      ['public.suppliers', 300, false],
    ]);
    const table = pipeline(['slot', 'status', '--database-url', db.url]);
    expect(table.status).toBe(0);
    expect(table.stdout).toMatch(new RegExp(`^slot +active +leader +lag +retained WAL +WAL status +confirmed +snapshot\\n${slot} +no +- `));
    expect(table.stdout).toContain('1/2 tables, 1500 rows so far');
    expect(table.stdout).toContain(`${slot}: no reader streams from it, and PostgreSQL keeps its WAL`);
  });

  it('drop refuses an active slot, and asks before dropping', async () => {
    const stream = testClient({ connectionString: db.readerUrl, replication: 'database' } as pg.ClientConfig);
    stream.on('error', () => undefined);
    await stream.connect();
    void stream
      .query(`START_REPLICATION SLOT ${slot} LOGICAL 0/0 (proto_version '1', publication_names 'pipeline')`)
      .catch(() => undefined);
    try {
      for (
        let tries = 0;
        !(await db.pool.query('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [slot])).rows[0]?.active;
        tries++
      ) {
        if (tries > 100) throw new Error('the slot never became active');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const busy = pipeline(['slot', 'drop', slot, '--yes', '--database-url', db.url]);
      expect(busy.status).toBe(1);
      expect(busy.stderr).toMatch(
        new RegExp(`^pipeline: slot ${slot} is active \\(walsender pid \\d+\\): stop the cdc-reader that streams from it`),
      );
      const status = JSON.parse(pipeline(['slot', 'status', slot, '--json', '--database-url', db.url]).stdout) as SlotReport[];
      expect(status[0]?.active).toBe(true);
    } finally {
      await stream.end().catch(() => undefined);
    }
    // No terminal to ask in: it refuses rather than drop unasked.
    const unasked = pipeline(['slot', 'drop', slot, '--database-url', db.url]);
    expect(unasked.status).toBe(1);
    expect(unasked.stderr).toContain(`refusing to drop slot ${slot} without confirmation: run it in a terminal, or add --yes`);
  });

  it('drop --yes drops an idle slot and the reader state of it, so the next reader start takes a new snapshot', async () => {
    // The walsender of the previous test may need a moment to let go.
    let result = pipeline(['slot', 'drop', slot, '--yes', '--database-url', db.url]);
    for (let tries = 0; result.status !== 0 && tries < 50; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      result = pipeline(['slot', 'drop', slot, '--yes', '--database-url', db.url]);
    }
    expect(result.stdout).toContain(`dropped slot ${slot}; the next cdc-reader start creates a new slot and takes a new snapshot`);
    expect((await db.pool.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [slot])).rows).toHaveLength(0);
    expect((await db.pool.query('SELECT 1 FROM cdc_reader.slots WHERE slot_name = $1', [slot])).rows).toHaveLength(0);
    expect((await db.pool.query('SELECT 1 FROM cdc_reader.snapshot_progress WHERE slot_name = $1', [slot])).rows).toHaveLength(0);
    const missing = pipeline(['slot', 'status', slot, '--database-url', db.url]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain(`no logical replication slot named ${slot} in this database`);
  });
});
