import { loadMigrations } from '@pipeline/db';
import { createEmptyDatabase, runPipeline } from '@pipeline/testing';

const pipeline = runPipeline;

describe('the pipeline command (as installed by npm ci)', () => {
  it.each([
    [[]],
    [['stack']],
    [['stack', 'up']],
    [['stack', 'down']],
    [['stack', 'status']],
    [['migrate']],
    [['start']],
    [['replay']],
    [['dlq']],
    [['dlq', 'list']],
    [['dlq', 'show']],
    [['dlq', 'redrive']],
    [['dlq', 'resolve']],
  ])('answers --help for %j', (command) => {
    const result = pipeline([...command, '--help']);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^Usage: pipeline/);
  });

  it('stack status --json shows every part of the running stack with PID, port and health', () => {
    const result = pipeline(['stack', 'status', '--json']);
    expect(result.status).toBe(0);
    const status = JSON.parse(result.stdout) as { components: { name: string; healthy: boolean; pid?: number }[] };
    expect(status.components.map((c) => [c.name, c.healthy])).toEqual([
      ['postgres', true],
      ['kafka', true],
      ['ses', true],
      ['prometheus', true],
    ]);
    expect(status.components.every((c) => typeof c.pid === 'number')).toBe(true);
  });

  it('stack up on a running stack reuses every part', () => {
    const result = pipeline(['stack', 'up']);
    expect(result.status).toBe(0);
    expect(result.stdout.match(/already running/g)).toHaveLength(4);
  });

  it('migrate applies the migrations to a new database, and a second run changes nothing', async () => {
    const db = await createEmptyDatabase('cli_migrate');
    try {
      const first = pipeline(['migrate', '--json', '--database-url', db.url]);
      expect(first.status).toBe(0);
      expect(JSON.parse(first.stdout)).toEqual({
        applied: loadMigrations().map((m) => `${String(m.version).padStart(4, '0')}_${m.name}`),
        alreadyApplied: 0,
      });
      const second = pipeline(['migrate', '--database-url', db.url]);
      expect(second.status).toBe(0);
      expect(second.stdout).toContain(`up to date (${loadMigrations().length} migrations)`);
      expect(
        loadMigrations()
          .map((m) => m.name)
          .slice(0, 3),
      ).toEqual(['domain_tables', 'pipeline_tables', 'capture']);
    } finally {
      await db.drop();
    }
  });

  it('says what to do when the database cannot be reached', () => {
    const result = pipeline(['migrate', '--database-url', 'postgres://nobody:x@127.0.0.1:1/none']);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(
      /^pipeline: cannot connect to postgres:\/\/nobody:redacted@127\.0\.0\.1:1\/none: .*is the database up \(`pipeline stack up`\)\?/,
    );
  });
});
