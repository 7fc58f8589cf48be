import { runPipelineAsync, testNumber } from '@pipeline/testing';
import { readModelDifferences } from './__tests__/compare';
import { projectorStack } from './__tests__/harness';
import { installAuditTrigger, runWorkload } from './__tests__/workload';

const SEED = testNumber('PROJECTOR_SEED', Date.now() % 1_000_000);
const monthNow = () => new Date().toISOString().slice(0, 7);

/**
 * A new snapshot mid-stream: the reader's slot is dropped, opportunities are deleted, changed and
 * added while no slot exists, and a new slot and snapshot replace it (CDC_ALLOW_NEW_SNAPSHOT). The
 * deletes are never emitted; the end-of-snapshot records make the projector drop what the new
 * snapshot did not re-read, so the aggregates equal SQL again (transitions are not compared: the
 * changes made while no slot existed never reach Kafka).
 */
describe('metrics-projector after a new snapshot', () => {
  it('drops the opportunities deleted while no slot existed: the aggregates equal SQL, and again after a rebuild', async () => {
    // A sequence that crosses a month boundary cannot be compared by month: it is run again.
    for (let round = 1; ; round++) {
      const stack = await projectorStack('projsnap', {
        beforeReader: async (db) => {
          await db.pool.query(
            `INSERT INTO opportunities (name, stage, value, owner)
             SELECT 'Before ' || g, (ARRAY['prospecting','proposal','negotiation','closed_won','closed_lost'])[1 + g % 5],
                    (g * 41 % 100000) / 100.0, (ARRAY['ann','bob',NULL])[1 + g % 3]
               FROM generate_series(1, 200) g`,
          );
        },
      });
      try {
        const month = monthNow();
        await installAuditTrigger(stack.db);
        await stack.startProjector();
        process.stdout.write(`metrics-projector new snapshot: seed ${SEED}\n`);
        await runWorkload(stack.db, { seed: SEED, sessions: 2, operationsPerSession: 500 });
        await stack.settled();

        // The slot goes away; meanwhile rows are deleted, closed, reopened and added: none of it is streamed.
        await stack.reader.stop();
        await stack.db.pool.query('SELECT pg_drop_replication_slot($1)', [stack.reader.slot]);
        const { rowCount: deleted } = await stack.db.pool.query(
          `DELETE FROM opportunities WHERE id IN (SELECT id FROM opportunities ORDER BY md5(id::text || $1) LIMIT 60)`,
          [String(SEED)],
        );
        await stack.db.pool.query(
          `UPDATE opportunities SET stage = 'closed_won', value = value + 1
            WHERE id IN (SELECT id FROM opportunities WHERE stage <> 'closed_won' ORDER BY md5(id::text || $1) LIMIT 25)`,
          [String(SEED)],
        );
        await stack.db.pool.query(
          `UPDATE opportunities SET stage = 'negotiation', owner = 'cyd'
            WHERE id IN (SELECT id FROM opportunities WHERE stage = 'closed_won' ORDER BY md5(id::text || $1) LIMIT 10)`,
          [String(SEED)],
        );
        await stack.db.pool.query(
          `INSERT INTO opportunities (name, stage, value, owner) SELECT 'Gap ' || g, 'proposal', g * 3.5, 'dee' FROM generate_series(1, 20) g`,
        );
        expect(deleted).toBe(60);
        // Before the new snapshot the projection still counts the deleted rows.
        expect((await readModelDifferences(stack.db, { transitions: false })).length).toBeGreaterThan(0);

        await stack.reader.restart({ CDC_ALLOW_NEW_SNAPSHOT: 'true' });
        await runWorkload(stack.db, { seed: SEED + 1, sessions: 2, operationsPerSession: 300 });
        await stack.settled();
        if (monthNow() !== month && round < 3) continue;

        expect(await readModelDifferences(stack.db, { transitions: false })).toEqual([]);
        const metrics = await (await fetch(`http://127.0.0.1:${stack.projectorPort}/metrics`)).text();
        const dropped = Number(/projection_snapshot_dropped_total\{[^}]*projection="sales_metrics"[^}]*\} (\d+)/.exec(metrics)?.[1]);
        process.stdout.write(`  ${dropped} opportunities dropped at the end of the new snapshot (${deleted} deleted without a slot)\n`);
        expect(dropped).toBe(deleted);
        const { rows } = await stack.db.pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM opportunity_projection p
            WHERE NOT p.deleted AND NOT EXISTS (SELECT 1 FROM opportunities o WHERE o.id = p.opportunity_id)`,
        );
        expect(rows[0]?.n).toBe(0);

        // A rebuild reads both snapshots and the end of each: it arrives at the same tables.
        const rebuilt = await runPipelineAsync(['projection', 'rebuild', 'metrics-projector', '--json'], stack.env);
        expect(rebuilt.stderr).toBe('');
        expect(rebuilt.status).toBe(0);
        await stack.settled();
        expect(await readModelDifferences(stack.db, { transitions: false })).toEqual([]);
        return;
      } finally {
        await stack.close();
      }
    }
  }, 300_000);
});
