import { slotReports } from '@pipeline/db';
import { freePort, inheritedEnv, spawnNode, type TestChild } from '@pipeline/testing';
import { consume, type ReaderFixture, readerFixture } from './__tests__/harness';
import { READER_ENTRY } from './__tests__/process';

interface Reader {
  child: TestChild;
  port: number;
  name: string;
}

/** A log line of a reader child (pino JSON), or undefined for anything else. */
function logOf(line: string): { time: string; msg: string } | undefined {
  try {
    return JSON.parse(line) as { time: string; msg: string };
  } catch {
    return undefined;
  }
}

/** Two readers on one slot: one leads, the other waits; failover on death and on a lost lock session. */
describe('standby reader', () => {
  let fixture: ReaderFixture;
  const running: Reader[] = [];
  let writer: { stop: () => Promise<string[]> } | undefined;

  beforeEach(async () => {
    fixture = await readerFixture('standby');
  });
  afterEach(async () => {
    await writer?.stop();
    for (const reader of running.splice(0)) {
      reader.child.process.kill('SIGTERM');
      await reader.child.exited;
    }
    await fixture.close();
  });

  async function start(name: string): Promise<Reader> {
    const port = await freePort();
    const child = spawnNode([READER_ENTRY], {
      PATH: inheritedEnv().PATH ?? '',
      ...fixture.env(),
      HTTP_PORT: String(port),
      LOG_LEVEL: 'info',
      CDC_STANDBY_POLL_MS: '200',
      CDC_HEARTBEAT_INTERVAL_MS: '500',
    });
    const reader = { child, port, name };
    running.push(reader);
    return reader;
  }

  async function ready(reader: Reader): Promise<boolean> {
    try {
      return (await fetch(`http://127.0.0.1:${reader.port}/readyz`)).status === 200;
    } catch {
      return false;
    }
  }

  async function untilReady(reader: Reader, timeoutMs = 30_000): Promise<number> {
    const started = Date.now();
    while (!(await ready(reader))) {
      if (Date.now() - started > timeoutMs) throw new Error(`${reader.name} never became ready`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    return Date.now() - started;
  }

  /** The sum of a metric's samples on a reader's /metrics. */
  async function metric(reader: Reader, name: string): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${reader.port}/metrics`)).text();
    return text
      .split('\n')
      .filter((line) => line.startsWith(name) && /^[a-z_]+(\{[^}]*\})? /.test(line))
      .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
  }

  /** Inserts suppliers until stopped; returns their names. */
  function writeContinuously(): { stop: () => Promise<string[]> } {
    const names: string[] = [];
    let writing = true;
    const loop = (async () => {
      while (writing) {
        const name = `supplier ${names.length}`;
        await fixture.db.pool.query('INSERT INTO suppliers (name) VALUES ($1)', [name]);
        names.push(name);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();
    return {
      stop: async () => {
        writing = false;
        await loop;
        return names;
      },
    };
  }

  async function expectAllArrive(names: string[]): Promise<void> {
    const wanted = new Set(names);
    const received = await consume(fixture, [fixture.topic('suppliers')], (all) => {
      const seen = new Set(all.map((r) => String(r.envelope.after?.name)));
      return [...wanted].every((name) => seen.has(name));
    });
    const seen = new Set(received.map((r) => String(r.envelope.after?.name)));
    expect([...wanted].filter((name) => !seen.has(name))).toEqual([]);
  }

  it('the standby produces nothing while the leader lives, and takes over when the leader is SIGKILLed', async () => {
    const a = await start('a');
    await untilReady(a);
    const b = await start('b');
    await b.child.waitForLine(/standby: slot \S+ has a leader/);
    writer = writeContinuously();
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(await metric(b, 'cdc_events_total')).toBe(0);
    expect(await metric(b, 'cdc_leader')).toBe(0);
    expect(await metric(a, 'cdc_leader')).toBe(1);
    expect(await metric(a, 'cdc_events_total')).toBeGreaterThan(0);
    expect(await ready(b)).toBe(false);

    a.child.process.kill('SIGKILL');
    await a.child.exited;
    running.splice(running.indexOf(a), 1);
    const takeoverMs = await untilReady(b);
    process.stdout.write(`standby took over ${takeoverMs} ms after the leader was SIGKILLed\n`);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const names = await writer.stop();
    writer = undefined;
    await expectAllArrive(names);
    expect(await metric(b, 'cdc_leader')).toBe(1);
  }, 120_000);

  it('a leader whose lock session is terminated stops producing before the standby starts', async () => {
    const a = await start('a');
    await untilReady(a);
    const b = await start('b');
    await b.child.waitForLine(/standby: slot \S+ has a leader/);
    writer = writeContinuously();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    // Only the leader's lock session: the granted advisory lock, not the standby's waiting session.
    const { rows } = await fixture.db.pool.query<{ pid: number }>(
      `SELECT a.pid FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid AND l.locktype = 'advisory' AND l.granted
        WHERE a.application_name = $1`,
      [`cdc-reader:${fixture.slot}:leader-lock`],
    );
    expect(rows).toHaveLength(1);
    // What `pipeline slot status` shows: the walsender and the leader's lock session.
    const [report] = await slotReports(fixture.db.pool, fixture.slot);
    expect(report).toMatchObject({ active: true, leader: { pid: rows[0]?.pid, application: `cdc-reader:${fixture.slot}:leader-lock` } });
    await fixture.db.pool.query('SELECT pg_terminate_backend($1)', [rows[0]?.pid]);
    await untilReady(b).catch((error: unknown) => {
      const show = (r: Reader) => r.child.lines.map((line) => `${r.name}: ${line.slice(0, 300)}`).join('\n');
      throw new Error(`${(error as Error).message}\n${show(a)}\n${show(b)}`);
    });
    const stoppedLine = await a.child.waitForLine(/stopped producing: now a standby/);
    const streamingLine = b.child.lines.filter((line) => logOf(line)?.msg === 'streaming').at(-1) as string;
    const stoppedAt = Date.parse(logOf(stoppedLine)?.time ?? '');
    const streamingAt = Date.parse(logOf(streamingLine)?.time ?? '');
    process.stdout.write(`old leader stopped producing at ${stoppedAt}, the standby streamed from ${streamingAt}\n`);
    expect(stoppedAt).toBeLessThanOrEqual(streamingAt);
    // The old leader is now the standby.
    expect(await metric(a, 'cdc_leader')).toBe(0);
    expect(await metric(b, 'cdc_leader')).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const names = await writer.stop();
    writer = undefined;
    await expectAllArrive(names);
  }, 120_000);
});
