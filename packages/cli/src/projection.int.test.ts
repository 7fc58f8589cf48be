import { createTestDatabase, runPipeline, type TestDatabase, testKafka, topicWithOrders } from '@pipeline/testing';

/** `pipeline projection status`: each projection's applied offsets against the log end. */
describe('pipeline projection status', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('cli_projection');
  });
  afterAll(async () => {
    await db.drop();
  });

  it('shows the position per partition and the lag, as a table and as JSON', async () => {
    const { topic } = await topicWithOrders(testKafka('cli-projection'), 'projstatus', 10);
    const pipeline = (args: string[]) => runPipeline(['projection', 'status', ...args, '--database-url', db.url]);
    expect(pipeline([]).stdout).toBe('no projection has applied anything yet (projection_checkpoints is empty)\n');
    await db.pool.query(
      `INSERT INTO projection_checkpoints (projection, topic, "partition", "offset", consumer_group) VALUES ('sales_metrics', $1, 0, 6, 'metrics-projector')`,
      [topic],
    );
    const table = pipeline([]);
    expect(table.status).toBe(0);
    expect(table.stdout).toMatch(/^projection +group +topic +applied \(partition:offset\) +lag +last applied +last rebuild +rebuilding\n/);
    expect(table.stdout).toMatch(
      new RegExp(`sales_metrics +metrics-projector +${topic.replace(/\./g, '\\.')} +0:6 +3 +\\d{4}-.* never +-$`, 'm'),
    );
    expect(JSON.parse(pipeline(['sales_metrics', '--json']).stdout)).toEqual([
      {
        projection: 'sales_metrics',
        group: 'metrics-projector',
        topic,
        partitions: [{ partition: 0, applied: '6', end: '10', lag: 3 }],
        lag: 3,
        updatedAt: expect.any(String),
        lastRebuild: null,
        rebuilding: null,
      },
    ]);
    // A rebuild running beside it, as it records itself every second.
    await db.pool.query(
      `INSERT INTO projection_rebuild_progress (projection, started_at, events_done, events_total) VALUES ('sales_metrics', now(), 2500, 10000)`,
    );
    expect(pipeline([]).stdout).toMatch(/ 2500 of 10000 \(25%\)$/m);
    expect(JSON.parse(pipeline(['--json']).stdout)[0].rebuilding).toEqual({
      startedAt: expect.any(String),
      done: 2500,
      total: 10000,
      updatedAt: expect.any(String),
    });
    expect(pipeline(['other']).stdout).toBe('projection other has applied nothing yet (no rows of it in projection_checkpoints)\n');
  });
});
