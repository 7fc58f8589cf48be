import { CONSUMER_SERVICE_CHILD, createTestDatabase, runPipeline, type TestDatabase, uniqueName } from '@pipeline/testing';

/**
 * `pipeline jobs run NAME` starts the service's own entry point in job mode (here the test
 * consumer service, given with --entry), which runs the job once as a manual run and exits with
 * its outcome; `pipeline jobs list` shows the job, its next run and that outcome.
 */
describe('pipeline jobs', () => {
  let db: TestDatabase;
  const service = uniqueName('test-jobs');
  const env = (extra: Record<string, string> = {}) => ({
    SERVICE: service,
    JOB_NAME: 'tidy-up',
    JOB_CRON: '0 8 * * *',
    JOB_TZ: 'Europe/Warsaw',
    LOG_LEVEL: 'warn',
    ...extra,
  });

  beforeAll(async () => {
    db = await createTestDatabase('cli_jobs');
  });
  afterAll(async () => {
    await db.drop();
  });

  const pipeline = (args: string[], extra?: Record<string, string>) => runPipeline([...args, '--database-url', db.url], env(extra));

  it('runs a job at once as a manual run, lists it with its next run and last outcome, and says why when it cannot', async () => {
    expect(pipeline(['jobs', 'list']).stdout).toBe('no scheduled jobs are registered (a service registers its jobs when it starts)\n');
    const unknown = pipeline(['jobs', 'run', 'tidy-up']);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toContain('no service has registered a job named tidy-up: `pipeline jobs list` shows the jobs');

    const ran = pipeline(['jobs', 'run', 'tidy-up', '--service', service, '--entry', CONSUMER_SERVICE_CHILD, '--json']);
    expect(ran.stderr).toBe('');
    expect(ran.status).toBe(0);
    expect(JSON.parse(ran.stdout)).toMatchObject({
      service,
      job: 'tidy-up',
      trigger: 'manual',
      outcome: 'succeeded',
      items: 1,
      details: { said: 'hello' },
    });
    const tasks = await db.pool.query('SELECT title FROM tasks WHERE type = $1', [service]);
    expect(tasks.rows).toEqual([{ title: 'job:manual' }]);
    // A manual run takes no occurrence's claim: the scheduled run still happens.
    expect((await db.pool.query('SELECT * FROM job_claims WHERE service = $1', [service])).rows).toEqual([]);

    const listed = JSON.parse(pipeline(['jobs', 'list', '--json']).stdout) as {
      service: string;
      job: string;
      cron: string;
      timeZone: string;
      nextRunAt: string;
      lastRun: { trigger: string; outcome: string; items: number };
      lastSuccessAt: string;
    }[];
    expect(listed).toEqual([
      expect.objectContaining({
        service,
        job: 'tidy-up',
        cron: '0 8 * * *',
        timeZone: 'Europe/Warsaw',
        lastRun: expect.objectContaining({ trigger: 'manual', outcome: 'succeeded', items: 1 }),
      }),
    ]);
    const next = Date.parse(listed[0]?.nextRunAt ?? '');
    expect(next).toBeGreaterThan(Date.now());
    // 08:00 in Warsaw is 06:00 or 07:00 UTC.
    expect(['06:00', '07:00']).toContain(listed[0]?.nextRunAt.slice(11, 16));
    expect(Date.parse(listed[0]?.lastSuccessAt ?? '')).toBeLessThanOrEqual(Date.now());
    const table = pipeline(['jobs', 'list']).stdout;
    expect(table).toContain('0 8 * * * Europe/Warsaw');
    expect(table).toContain('succeeded (manual)');

    const human = pipeline(['jobs', 'run', 'tidy-up', '--service', service, '--entry', CONSUMER_SERVICE_CHILD]);
    expect(human.stdout).toMatch(
      new RegExp(`^tidy-up of ${service} succeeded in \\d+(\\.\\d)? m?s, 1 item \\{"said":"hello"\\} \\(run \\d+\\)\\n$`),
    );

    const failing = pipeline(['jobs', 'run', 'tidy-up', '--service', service, '--entry', CONSUMER_SERVICE_CHILD], { JOB_FAIL: '1' });
    expect(failing.status).toBe(1);
    expect(failing.stdout).toContain(`tidy-up of ${service} failed after`);
    expect(failing.stdout).toContain('JOB_TOLD_TO_FAIL: the job was told to fail');

    const noSuchJob = pipeline(['jobs', 'run', 'nope', '--service', service, '--entry', CONSUMER_SERVICE_CHILD]);
    expect(noSuchJob.status).toBe(64);
    expect(noSuchJob.stderr).toContain(`${service} has no job "nope"; its jobs: tidy-up`);

    // Registered now, so the service is found by the job's name; its entry point is not in this checkout.
    const elsewhere = pipeline(['jobs', 'run', 'tidy-up']);
    expect(elsewhere.status).toBe(1);
    expect(elsewhere.stderr).toContain(`${service} is not a service of this checkout`);
    expect(elsewhere.stderr).toContain('give its entry point with --entry');

    const runs = await db.pool.query<{ trigger: string; outcome: string }>(
      'SELECT trigger, outcome FROM job_runs WHERE service = $1 ORDER BY id',
      [service],
    );
    expect(runs.rows).toEqual([
      { trigger: 'manual', outcome: 'succeeded' },
      { trigger: 'manual', outcome: 'succeeded' },
      { trigger: 'manual', outcome: 'failed' },
    ]);
  }, 120_000);
});
