import type { Pool } from '@pipeline/db';
import { runPipelineAsync } from '@pipeline/testing';
import { readModelDifferences } from './__tests__/compare';
import { type ProjectorStack, projectorStack } from './__tests__/harness';
import { installAuditTrigger, runWorkload } from './__tests__/workload';
import { PROJECTION_TABLES } from './rebuild/shadow';

const pipeline = runPipelineAsync;

describe('pipeline projection rebuild', () => {
  let stack: ProjectorStack;
  let env: Record<string, string>;
  beforeAll(async () => {
    stack = await projectorStack('projrebuild');
    await installAuditTrigger(stack.db);
    await stack.startProjector();
    env = { ...stack.env, LOG_LEVEL: 'info' };
  }, 120_000);
  afterAll(async () => {
    await stack?.close();
  });

  it('rebuilt while writes go on, the tables equal the incremental ones and SQL; the live projector goes on from the swap', async () => {
    await runWorkload(stack.db, { seed: 7, sessions: 2, operationsPerSession: 1_500 });
    await stack.settled();
    expect(await readModelDifferences(stack.db, { transitions: true })).toEqual([]);

    const indexes = await projectionIndexes(stack.db.pool);
    const writes = runWorkload(stack.db, { seed: 8, sessions: 2, operationsPerSession: 1_500, pauseMs: 1 });
    // The live projector's /metrics tell of the rebuild running beside it.
    const gauge = (text: string, name: string) => Number(new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, 'm').exec(text)?.[1]);
    const seen: { running: number; target: number }[] = [];
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const text = await (await fetch(`http://127.0.0.1:${stack.projectorPort}/metrics`)).text();
        seen.push({ running: gauge(text, 'projection_rebuild_running'), target: gauge(text, 'projection_rebuild_target_events') });
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    })();
    const rebuilt = await pipeline(['projection', 'rebuild', 'metrics-projector', '--json'], env);
    watching = false;
    await watcher;
    await writes;
    expect(seen.some((s) => s.running === 1 && s.target > 3_000)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const after = await (await fetch(`http://127.0.0.1:${stack.projectorPort}/metrics`)).text();
    expect(gauge(after, 'projection_rebuild_running')).toBe(0);
    expect(rebuilt.stderr).toBe('');
    expect(rebuilt.status).toBe(0);
    const outcome = JSON.parse(rebuilt.stdout) as { projection: string; events: number; eventsPerSecond: number };
    expect(outcome).toMatchObject({ projection: 'sales_metrics', events: expect.any(Number), eventsPerSecond: expect.any(Number) });
    expect(outcome.events).toBeGreaterThan(3_000);
    process.stdout.write(`projection rebuild: ${outcome.events} events at ${outcome.eventsPerSecond} events/s\n`);

    await stack.settled();
    expect(await readModelDifferences(stack.db, { transitions: true })).toEqual([]);
    const { rows } = await stack.db.pool.query(`SELECT projection, events FROM projection_rebuilds`);
    expect(rows).toEqual([{ projection: 'sales_metrics', events: String(outcome.events) }]);
    // The indexes the rebuild left out while filling its tables are back, each once.
    expect(await projectionIndexes(stack.db.pool)).toEqual(indexes);
    const { rows: schemas } = await stack.db.pool.query(`SELECT nspname FROM pg_namespace WHERE nspname LIKE 'projection_%'`);
    expect(schemas).toEqual([]);
    // The processed-events namespace moved with one row: the rebuild's own, the old one's ids deleted after the swap.
    const { rows: namespaces } = await stack.db.pool.query<{ projection: string; namespace: string }>(
      'SELECT projection, namespace FROM projection_namespaces',
    );
    expect(namespaces).toEqual([{ projection: 'sales_metrics', namespace: expect.stringMatching(/^projection:sales_metrics#\d+$/) }]);
    const { rows: held } = await stack.db.pool.query<{ consumer: string; n: number }>(
      `SELECT consumer, count(*)::int AS n FROM processed_events WHERE consumer LIKE 'projection:%' GROUP BY consumer`,
    );
    expect(held.map((row) => row.consumer)).toEqual([namespaces[0]?.namespace]);
    expect(held[0]?.n).toBeGreaterThanOrEqual(outcome.events - 10);
  }, 300_000);

  it('refuses a topic that does not keep every message: limited retention, or compaction', async () => {
    const admin = stack.kafka.admin();
    await admin.connect();
    const retention = async (value: string) =>
      admin.alterConfigs({
        validateOnly: false,
        resources: [{ type: 2, name: stack.topic, configEntries: [{ name: 'retention.ms', value }] }],
      });
    try {
      await retention('604800000');
      const refused = await pipeline(['projection', 'rebuild', 'metrics-projector'], env);
      expect(refused.status).toBe(1);
      expect(refused.stderr).toContain(
        `metrics-projector refused to rebuild: ${stack.topic} keeps messages for retention.ms=604800000, not forever: a rebuild from it could miss changes.`,
      );
    } finally {
      await retention('-1');
    }
    // A compacted topic keeps the latest change per opportunity only: the transitions before it are gone.
    const policy = async (value: string) =>
      admin.alterConfigs({
        validateOnly: false,
        resources: [
          {
            type: 2,
            name: stack.topic,
            configEntries: [
              { name: 'cleanup.policy', value },
              { name: 'retention.ms', value: '-1' },
            ],
          },
        ],
      });
    try {
      await policy('compact');
      const refused = await pipeline(['projection', 'rebuild', 'metrics-projector'], env);
      expect(refused.status).toBe(1);
      expect(refused.stderr).toContain(
        `metrics-projector refused to rebuild: ${stack.topic} is compacted (cleanup.policy=compact): it keeps only the latest change of each opportunity`,
      );
    } finally {
      await policy('delete');
      await admin.disconnect();
    }
  }, 120_000);
});

/** The projection tables' indexes, by table and definition (a rebuilt index has a name of its own). */
async function projectionIndexes(pool: Pool): Promise<string[]> {
  const { rows } = await pool.query<{ definition: string }>(
    `SELECT tablename || ': ' || regexp_replace(indexdef, '^CREATE (UNIQUE )?INDEX \\S+ ON ', 'CREATE \\1INDEX ON ') AS definition
       FROM pg_indexes WHERE schemaname = 'public' AND tablename = ANY($1::text[]) ORDER BY 1`,
    [PROJECTION_TABLES],
  );
  return rows.map((row) => row.definition);
}
