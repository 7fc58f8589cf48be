import { ensureTopics } from '@pipeline/kafka';
import { eventually, freePort, inheritedEnv, spawnNode, type TestChild, waitUntilReady } from '@pipeline/testing';
import type { Admin } from 'kafkajs';
import { consume, type ReaderFixture, readerFixture } from './__tests__/harness';
import { READER_ENTRY } from './__tests__/process';

/** The compiled reader as a process of the fixture's, its JSON log lines collected. */
function runReader(fixture: ReaderFixture, env: Record<string, string> = {}): TestChild {
  return spawnNode(
    [READER_ENTRY],
    {
      PATH: inheritedEnv().PATH ?? '',
      ...fixture.env(),
      // Only what the test writes moves the slot.
      CDC_HEARTBEAT_INTERVAL_MS: '600000',
      LOG_LEVEL: 'info',
      ...env,
    },
    undefined,
    { ipc: true },
  );
}

async function startReady(fixture: ReaderFixture, env: Record<string, string> = {}): Promise<TestChild> {
  const port = await freePort();
  const child = runReader(fixture, { ...env, HTTP_PORT: String(port) });
  await waitUntilReady(child, port, 'cdc-reader');
  return child;
}

/** The last error or fatal message the reader logged. */
const lastError = (child: TestChild): string => {
  const errors = child.lines
    .map((line) => JSON.parse(line) as { level: string; msg: string })
    .filter((line) => line.level === 'error' || line.level === 'fatal');
  return errors.at(-1)?.msg ?? '';
};

async function slotState(fixture: ReaderFixture): Promise<{ confirmed: string | null; consistentPoint: string | null } | undefined> {
  const { rows } = await fixture.db.pool.query<{ confirmed: string | null; consistent_point: string | null }>(
    `SELECT s.confirmed_flush_lsn::text AS confirmed, r.consistent_point::text AS consistent_point
       FROM pg_replication_slots s LEFT JOIN cdc_reader.slots r ON r.slot_name = s.slot_name WHERE s.slot_name = $1`,
    [fixture.slot],
  );
  const row = rows[0];
  return row ? { confirmed: row.confirmed, consistentPoint: row.consistent_point } : undefined;
}

/** Sets a topic's configs to exactly these (AlterConfigs replaces them all), and waits until the brokers report them. */
async function setTopicConfig(admin: Admin, topic: string, entries: Record<string, string>): Promise<void> {
  const configEntries = Object.entries(entries).map(([name, value]) => ({ name, value }));
  await admin.alterConfigs({ validateOnly: false, resources: [{ type: 2, name: topic, configEntries }] });
  await eventually('the topic config to apply', async () => {
    const { resources } = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: 2, name: topic, configNames: Object.keys(entries) }],
    });
    const applied = resources[0]?.configEntries ?? [];
    return Object.entries(entries).every(([name, value]) => applied.some((e) => e.configName === name && e.configValue === value))
      ? true
      : undefined;
  });
}

/**
 * Refusals that no retry can pass, against the real broker and database: the reader stops with
 * exit code 78 and says what to do, instead of looping; its slot stays where it was.
 */
describe('refusals that never pass', () => {
  const fixtures: ReaderFixture[] = [];
  const children: TestChild[] = [];
  const fixture = async (name: string) => {
    const made = await readerFixture(name);
    fixtures.push(made);
    return made;
  };
  afterAll(async () => {
    for (const child of children) if (child.process.exitCode === null) child.process.kill('SIGKILL');
    for (const made of fixtures) await made.close();
  }, 60_000);

  it('a produce the broker refuses while streaming stops the reader with exit 78 at once; its slot and position stay; fixed, nothing is lost', async () => {
    const f = await fixture('refused');
    // A transaction's records are stamped when it was read and wait CDC_LINGER_MS for company:
    // older than the 100 ms this topic will allow, every time.
    const reader = await startReady(f, { CDC_LINGER_MS: '400' });
    children.push(reader);
    const { pool } = f.db;
    const topic = f.topic('suppliers');
    const admin = f.kafka.admin();
    await admin.connect();
    try {
      const before = await slotState(f);
      await setTopicConfig(admin, topic, { 'retention.ms': '-1', 'retention.bytes': '-1', 'message.timestamp.difference.max.ms': '100' });
      const { rows } = await pool.query<{ id: string }>(`INSERT INTO suppliers (name) VALUES ('refused') RETURNING id::text`);
      const refusedAt = Date.now();
      const { code } = await reader.exited;
      expect(code).toBe(78);
      expect(Date.now() - refusedAt).toBeLessThan(15_000);
      expect(lastError(reader)).toMatch(
        new RegExp(
          `^Kafka refused the changes of a transaction for ${topic.replaceAll('.', '\\.')} partition \\d: INVALID_TIMESTAMP \\(The timestamp of the message is out of acceptable range\\)\\. ` +
            'Retrying cannot help: the record timestamps are outside what the topic accepts \\(message\\.timestamp\\.difference\\.max\\.ms',
        ),
      );
      // Not a reconnect loop: one session, no new slot, and the refused transaction not confirmed.
      expect(reader.lines.filter((line) => line.includes('reconnecting from the slot'))).toEqual([]);
      expect(await slotState(f)).toEqual(before);

      // The topic fixed, the reader started again: the refused change arrives, from the same slot.
      await setTopicConfig(admin, topic, {
        'retention.ms': '-1',
        'retention.bytes': '-1',
        'message.timestamp.difference.max.ms': '9223372036854775807',
      });
      const again = await startReady(f);
      children.push(again);
      const received = await consume(f, [topic], (all) => all.some((r) => r.envelope.after?.id === rows[0]?.id));
      expect(received.filter((r) => r.envelope.after?.id === rows[0]?.id).map((r) => r.envelope.op)).toEqual(['c']);
      expect((await slotState(f))?.consistentPoint).toBe(before?.consistentPoint);
      again.process.kill('SIGTERM');
      expect((await again.exited).code).toBe(0);
    } finally {
      await admin.disconnect();
    }
  }, 120_000);

  it('a snapshot interrupted three times in a row by the same cause, across a restart, stops the reader and says why', async () => {
    const f = await fixture('snapfails');
    // Every attempt fails the same way: the reader role may no longer read a captured table.
    await f.db.pool.query('REVOKE SELECT ON customers FROM pipeline_reader');
    const times = async () => {
      const { rows } = await f.db.pool.query<{ times: number; cause: string }>(
        'SELECT times, cause FROM cdc_reader.snapshot_interruptions WHERE slot_name = $1',
        [f.slot],
      );
      return rows[0];
    };
    const first = runReader(f, { HTTP_PORT: String(await freePort()) });
    children.push(first);
    await eventually('a first interruption', async () => ((await times())?.times ?? 0) >= 1 || undefined, 60_000, 10);
    first.process.kill('SIGTERM');
    expect((await first.exited).code).toBe(0);
    const afterFirst = await times();
    expect(afterFirst).toMatchObject({ cause: 'postgres:42501' });
    expect(afterFirst?.times).toBeLessThan(3);

    const second = runReader(f, { HTTP_PORT: String(await freePort()) });
    children.push(second);
    const { code } = await second.exited;
    expect(code).toBe(78);
    expect(lastError(second)).toBe(
      `the initial snapshot of slot ${f.slot} was interrupted 3 times in a row by the same cause: permission denied for table customers. ` +
        'The reader stops instead of dropping the slot and starting over again: remove the cause, then start the reader again (it ' +
        "takes a new snapshot; 'pipeline slot status' shows what interrupted the last one)",
    );
    expect(await times()).toEqual({ times: 3, cause: 'postgres:42501' });
    // The warnings before it counted up.
    expect(second.lines.some((line) => line.includes('the initial snapshot was interrupted (') && line.includes(' of 3 in a row'))).toBe(
      true,
    );
  }, 120_000);

  it('a table without any key on a compacted topic is refused at start, naming it', async () => {
    const f = await fixture('keyless');
    await f.db.pool.query('CREATE TABLE keyless_notes (note text)');
    await f.db.pool.query('ALTER PUBLICATION pipeline ADD TABLE keyless_notes');
    const admin = f.kafka.admin();
    await admin.connect();
    try {
      await ensureTopics(admin, [
        { topic: f.topic('keyless_notes'), numPartitions: 3, replicationFactor: 1, configEntries: { 'cleanup.policy': 'compact' } },
      ]);
    } finally {
      await admin.disconnect();
    }
    const reader = runReader(f, { HTTP_PORT: String(await freePort()) });
    children.push(reader);
    expect((await reader.exited).code).toBe(78);
    expect(lastError(reader)).toBe(
      `public.keyless_notes (topic ${f.topic('keyless_notes')}) has no primary key or replica identity key, but its topic is compacted ` +
        "(cleanup.policy=compact): compaction keeps the latest record per key, and such a table's changes have no key to keep. Add a " +
        'primary key (or set REPLICA IDENTITY FULL or USING INDEX), take the table out of publication pipeline, or set ' +
        'cleanup.policy=delete on the topic; then start the reader again',
    );
    // Refused before anything was made: no slot.
    expect(await slotState(f)).toBeUndefined();
  }, 60_000);
});
