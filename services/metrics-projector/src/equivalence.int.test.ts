import { runPipeline, sharedStack, testNumber } from '@pipeline/testing';
import { readModelDifferences } from './__tests__/compare';
import { type ProjectorStack, projectorStack } from './__tests__/harness';
import { installAuditTrigger, runWorkload } from './__tests__/workload';

const SEED = testNumber('PROJECTOR_SEED', Date.now() % 1_000_000);
const monthNow = () => new Date().toISOString().slice(0, 7);

/**
 * The projection equals SQL over `opportunities`: a seeded random sequence of inserts, updates
 * (stage, value, owner, a reopened deal) and deletes from several sessions, with 300 rows from
 * before the pipeline (the snapshot), and again with the projector SIGKILLed during the sequence.
 * The seed is printed; PROJECTOR_SEED=<n> repeats a run.
 */
describe('metrics-projector equals SQL over opportunities', () => {
  const seed = async (db: ProjectorStack['db']) => {
    await db.pool.query(
      `INSERT INTO opportunities (name, stage, value, owner)
       SELECT 'Before ' || g, (ARRAY['prospecting','qualification','proposal','negotiation','closed_won','closed_lost'])[1 + g % 6],
              (g * 37 % 100000) / 100.0, (ARRAY['ann','bob',NULL])[1 + g % 3]
         FROM generate_series(1, 300) g`,
    );
  };

  const run = async (name: string, kills: number, operationsPerSession: number) => {
    // A sequence that crosses a month boundary cannot be compared by month: it is run again.
    for (let round = 1; ; round++) {
      const stack = await projectorStack(name, { beforeReader: seed });
      try {
        await installAuditTrigger(stack.db);
        await stack.startProjector();
        const month = monthNow();
        process.stdout.write(
          `metrics-projector equivalence (${name}): seed ${SEED}, ${4 * operationsPerSession} operations, ${kills} kills\n`,
        );
        let killed = 0;
        const workload = runWorkload(stack.db, { seed: SEED, sessions: 4, operationsPerSession, ...(kills > 0 ? { pauseMs: 2 } : {}) });
        if (kills > 0) {
          let finished = false;
          void workload.finally(() => {
            finished = true;
          });
          while (killed < kills) {
            await new Promise((resolve) => setTimeout(resolve, 1_000 + ((SEED + killed * 7919) % 1_500)));
            await stack.killProjector();
            killed += 1;
            await stack.startProjector();
            if (finished && killed >= kills) break;
          }
          expect(finished || killed === kills).toBe(true);
        }
        const done = await workload;
        await stack.settled();
        if (monthNow() !== month && round < 3) continue;
        expect(done).toBe(4 * operationsPerSession);
        const { rows: outcomes } = await stack.db.pool.query<{ outcome: string; n: number }>(
          'SELECT outcome, count(*)::int AS n FROM event_outcomes GROUP BY outcome ORDER BY outcome',
        );
        process.stdout.write(`  outcomes: ${outcomes.map((row) => `${row.outcome} ${row.n}`).join(', ')}\n`);
        expect(await readModelDifferences(stack.db, { transitions: true })).toEqual([]);
        const { rows } = await stack.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM stage_transitions');
        expect(rows[0]?.n).toBeGreaterThan(1_000);
        if (kills === 0) await replayRefusedAndResetHarmless(stack);
        return killed;
      } finally {
        await stack.close();
      }
    }
  };

  /** `pipeline replay` refuses the group; offsets reset behind its back (the Kafka admin API) double-count nothing. */
  const replayRefusedAndResetHarmless = async (stack: ProjectorStack) => {
    const child = stack.projector;
    child?.process.kill('SIGTERM');
    await child?.exited;
    const env = { DATABASE_URL: stack.db.url, KAFKA_BROKERS: sharedStack().endpoints.kafkaBrokers.join(',') };
    const refused = runPipeline(['replay', '--group', stack.group, '--topic', stack.topic, '--earliest', '--execute'], env);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain(
      `group ${stack.group} applies the projection sales_metrics, which keeps its position in projection_checkpoints`,
    );
    const admin = stack.kafka.admin();
    await admin.connect();
    try {
      await admin.resetOffsets({ groupId: stack.group, topic: stack.topic, earliest: true });
    } finally {
      await admin.disconnect();
    }
    const { rows: before } = await stack.db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM event_outcomes WHERE outcome = 'skipped'`,
    );
    await stack.startProjector();
    await stack.settled();
    const { rows: after } = await stack.db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM event_outcomes WHERE outcome = 'skipped'`,
    );
    expect((after[0]?.n ?? 0) - (before[0]?.n ?? 0)).toBeGreaterThan(9_000);
    expect(await readModelDifferences(stack.db, { transitions: true })).toEqual([]);
  };

  it('after 10,000 operations from four sessions', async () => {
    await run('proj', 0, 2_500);
  }, 300_000);

  it('after 10,000 operations with the projector SIGKILLed five times during them', async () => {
    expect(await run('projkill', 5, 2_500)).toBeGreaterThanOrEqual(5);
  }, 300_000);
});
