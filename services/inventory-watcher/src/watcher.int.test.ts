import { outcomesOf } from '@pipeline/db';
import { FAILURE_HEADERS, headersAsText, readTopicToEnd } from '@pipeline/kafka';
import { encodeSingleObject, envelopeSchema, type InventoryRow } from '@pipeline/schemas';
import { edgeEnvelope, firstEdgeRow } from '@pipeline/schemas/fixtures';
import { eventually, runPipeline, sharedStack } from '@pipeline/testing';
import {
  deleteItem,
  insertItem,
  notificationsOf,
  reorderTasks,
  setQuantity,
  type TaskRow,
  type WatcherStack,
  watcherStack,
} from './__tests__/harness';

/**
 * SQL in, the real cdc-reader, the real broker, the watcher: one item's reorder task through its
 * whole life, a snapshot row, a late retry copy of a crossing, and a replay of the topic.
 */
describe('inventory-watcher, end to end', () => {
  let stack: WatcherStack;
  let lowAtStart: string;

  beforeAll(async () => {
    stack = await watcherStack('inv', {
      // Low before the reader ever ran: it arrives as a snapshot row.
      beforeReader: async (db) => {
        lowAtStart = await insertItem(db, { name: 'Snapshot widget', quantity: 2, threshold: 5 });
      },
    });
  }, 120_000);
  afterAll(async () => {
    await stack?.close();
  });

  const openTask = (id: string, until: (task: TaskRow) => boolean = () => true) =>
    eventually(`an open reorder task of ${id}`, async () => {
      const tasks = await reorderTasks(stack.db, id);
      return tasks.find((task) => ['open', 'in_progress'].includes(task.status) && until(task));
    });

  it('opens a task for a snapshot row of a low item, as the daily check would', async () => {
    const task = await openTask(lowAtStart);
    expect(task).toMatchObject({
      title: 'Reorder: Snapshot widget',
      priority: 'high',
      metadata: { source: 'snapshot', suggested_quantity: 100 },
    });
    expect(await notificationsOf(stack.db, lowAtStart)).toHaveLength(1);
  });

  it('crossing, drop to zero, restock, a new crossing and a delete: one task at a time, each notification once', async () => {
    const id = await insertItem(stack, {
      name: 'Kubek “Żółw”',
      quantity: 50,
      threshold: 10,
      supplier: { name: 'Acme Ltd', defaultOrderQuantity: 40 },
    });
    await setQuantity(stack, id, 12); // still healthy: nothing
    await setQuantity(stack, id, 7); // crosses
    const first = await openTask(id);
    await stack.settled();
    expect(await reorderTasks(stack.db, id)).toEqual([
      {
        id: first.id,
        title: 'Reorder: Kubek “Żółw”',
        description: expect.stringMatching(/^Kubek “Żółw” \(SKU /),
        priority: 'high',
        status: 'open',
        metadata: expect.objectContaining({ inventory_id: id, supplier_id: expect.any(String), suggested_quantity: 40, source: 'change' }),
      },
    ]);
    expect(first.description).toMatch(
      /^Kubek “Żółw” \(SKU SKU_[0-9a-f]+\) has 7 in stock, below its reorder threshold of 10\. Reorder 40 from supplier Acme Ltd\.$/,
    );
    expect(await notificationsOf(stack.db, id)).toEqual([
      {
        type: 'low_inventory',
        title: 'Low Inventory Alert: Kubek “Żółw”',
        message: 'Stock is at 7. A reorder task has been created.',
        action_url: `/tasks/${first.id}`,
        target_role: 'inventory_manager',
        priority: 'high',
      },
    ]);

    await setQuantity(stack, id, 3); // stays low: the description follows
    await openTask(id, (task) => task.description.includes('has 3 in stock'));
    await setQuantity(stack, id, 0); // to zero: urgent, one more notification
    await openTask(id, (task) => task.priority === 'urgent');
    await setQuantity(stack, id, 0); // another change at zero: nothing more
    await stack.settled();
    expect(await reorderTasks(stack.db, id)).toHaveLength(1);
    expect((await notificationsOf(stack.db, id)).map((n) => [n.title, n.message, n.priority])).toEqual([
      ['Low Inventory Alert: Kubek “Żółw”', 'Stock is at 7. A reorder task has been created.', 'high'],
      ['Out of Stock: Kubek “Żółw”', 'Stock is at 0. The open reorder task is now urgent.', 'urgent'],
    ]);

    await setQuantity(stack, id, 10); // restocked to the threshold: done
    await eventually('the task closed', async () => ((await reorderTasks(stack.db, id))[0]?.status === 'done' ? true : undefined));
    expect((await reorderTasks(stack.db, id))[0]?.metadata).toMatchObject({ reason: 'restocked', restocked_to: 10 });

    await setQuantity(stack, id, 9); // a later drop: a new task
    const second = await openTask(id);
    expect(second.id).not.toBe(first.id);
    expect(second.priority).toBe('high');

    await deleteItem(stack, id);
    await eventually('the task cancelled', async () =>
      (await reorderTasks(stack.db, id)).find((task) => task.id === second.id && task.status === 'cancelled'),
    );
    await stack.settled();
    expect((await reorderTasks(stack.db, id)).map((task) => [task.status, task.metadata.reason])).toEqual([
      ['done', 'restocked'],
      ['cancelled', 'item deleted'],
    ]);
    expect(await notificationsOf(stack.db, id)).toHaveLength(3);

    // What happened, as /metrics shows it (the snapshot's task, then this item's two).
    const metrics = await stack.replicas[0]?.registry.metrics();
    for (const line of [
      'inventory_reorder_tasks_created_total{source="change"} 2',
      'inventory_reorder_tasks_created_total{source="snapshot"} 1',
      'inventory_reorder_tasks_created_total{source="daily_check"} 0',
      'inventory_reorder_tasks_escalated_total 1',
      'inventory_reorder_tasks_closed_total 1',
      'inventory_reorder_tasks_cancelled_total 1',
    ]) {
      expect(metrics).toContain(line);
    }
  }, 120_000);

  it('an item without a supplier: 100 suggested, urgent when it arrives at zero', async () => {
    const id = await insertItem(stack, { name: 'Ποτήρι', quantity: 0, threshold: 4 });
    const task = await openTask(id);
    expect(task).toMatchObject({ priority: 'urgent', metadata: { supplier_id: null, suggested_quantity: 100 } });
    expect(task.description).toMatch(/has 0 in stock, below its reorder threshold of 4\. Reorder 100 from no supplier on record\.$/);
    await stack.settled();
    expect(await notificationsOf(stack.db, id)).toEqual([
      expect.objectContaining({ message: 'Stock is at 0. A reorder task has been created.', priority: 'urgent' }),
    ]);
  });

  it('a retry copy of a crossing handled after the restock creates nothing', async () => {
    const id = await insertItem(stack, { name: 'Late retry item', quantity: 20, threshold: 10 });
    await stack.settled();
    // The first attempt fails (a constraint refuses this item's task): the crossing goes to the retry topic.
    await stack.db.pool.query(`ALTER TABLE tasks ADD CONSTRAINT test_refuse_late CHECK (title <> 'Reorder: Late retry item')`);
    try {
      await setQuantity(stack, id, 5);
      const crossing = await eventually('the crossing retried', async () => {
        const { rows } = await stack.db.pool.query<{ event_id: string }>(
          `SELECT event_id FROM event_outcomes WHERE consumer_group = $1 AND outcome = 'retried' AND error LIKE '%test_refuse_late%'`,
          [stack.group],
        );
        return rows[0]?.event_id;
      });
      await setQuantity(stack, id, 25); // the restock, handled while the crossing waits for its retry
      await stack.db.pool.query('ALTER TABLE tasks DROP CONSTRAINT test_refuse_late');
      await eventually('the retry copy handled', async () =>
        (await outcomesOf(stack.db.pool, crossing)).some((o) => o.outcome === 'processed') ? true : undefined,
      );
      expect((await outcomesOf(stack.db.pool, crossing)).map((o) => `${o.outcome}@${o.attempt}`)).toEqual(['retried@1', 'processed@2']);
    } finally {
      await stack.db.pool.query('ALTER TABLE tasks DROP CONSTRAINT IF EXISTS test_refuse_late');
    }
    await stack.settled();
    expect(await reorderTasks(stack.db, id)).toEqual([]);
    expect(await notificationsOf(stack.db, id)).toEqual([]);
  }, 60_000);

  it('a malformed inventory event is a dead letter with its error; every event after it is handled once', async () => {
    const admin = stack.kafka.admin();
    await admin.connect();
    const partitions = (await admin.fetchTopicOffsets(stack.topic)).map((p) => p.partition);
    await admin.disconnect();
    const invalid = {
      ...edgeEnvelope<InventoryRow>('public.inventory', 'u', firstEdgeRow('public.inventory'), {
        ...firstEdgeRow('public.inventory'),
        quantity: -3,
      }),
      eventId: 'test-inv-invalid-row',
    };
    const producer = stack.kafka.producer();
    await producer.connect();
    try {
      // Undecodable bytes ahead of whatever comes next on every partition, and a row no inventory table could hold.
      await producer.send({
        topic: stack.topic,
        messages: [
          ...partitions.map((partition) => ({ partition, key: 'garbage', value: Buffer.from('{"quantity": 1}') })),
          {
            partition: 0,
            key: 'invalid',
            value: encodeSingleObject(envelopeSchema('public.inventory'), invalid),
            headers: { 'event-id': invalid.eventId },
          },
        ],
      });
    } finally {
      await producer.disconnect();
    }
    stack.expected += partitions.length + 1;
    const after = await Promise.all(
      [1, 2, 3].map((n) => insertItem(stack, { name: `After the garbage ${n}`, quantity: 20, threshold: 10 })),
    );
    for (const id of after) await setQuantity(stack, id, 1);
    for (const id of after) await openTask(id);
    await stack.settled();

    const letters: { code: string; message: string; attempt: string }[] = [];
    await readTopicToEnd(stack.kafka, `${stack.group}.dlq`, {
      onMessage: (message) => {
        const headers = headersAsText(message.headers);
        letters.push({
          code: headers[FAILURE_HEADERS.errorCode] ?? '',
          message: headers[FAILURE_HEADERS.errorMessage] ?? '',
          attempt: headers[FAILURE_HEADERS.attempt] ?? '',
        });
      },
    });
    expect(letters.filter((letter) => letter.code === 'INVALID_ROW')).toEqual([
      {
        code: 'INVALID_ROW',
        attempt: '1',
        message: expect.stringContaining(
          "inventory change test-inv-invalid-row has an invalid after row: quantity -3 is not a whole number ≥ 0. The inventory table's checks forbid such rows",
        ),
      },
    ]);
    expect(letters.filter((letter) => letter.code !== 'INVALID_ROW')).toHaveLength(partitions.length);
    expect(letters.every((letter) => letter.attempt === '1')).toBe(true);
    expect((await outcomesOf(stack.db.pool, invalid.eventId)).map((o) => [o.outcome, o.error])).toEqual([
      ['dead_lettered', expect.stringMatching(/^INVALID_ROW: inventory change test-inv-invalid-row has an invalid after row: quantity -3/)],
    ]);
    // Each change after the garbage: handled once, one task and one notification per item.
    for (const id of after) {
      expect(await reorderTasks(stack.db, id)).toHaveLength(1);
      expect(await notificationsOf(stack.db, id)).toHaveLength(1);
    }
    const { rows } = await stack.db.pool.query<{ event_id: string; n: string }>(
      `SELECT event_id, count(*) AS n FROM event_outcomes WHERE consumer_group = $1 AND outcome = 'processed' GROUP BY event_id HAVING count(*) > 1`,
      [stack.group],
    );
    expect(rows).toEqual([]);
  }, 60_000);

  it('a replay of the inventory topic from the earliest offset creates no task and no notification', async () => {
    const count = async () => {
      const { rows } = await stack.db.pool.query<{ tasks: string; notifications: string; state: string }>(
        `SELECT (SELECT count(*) FROM tasks) AS tasks, (SELECT count(*) FROM notifications WHERE type = 'low_inventory') AS notifications,
                (SELECT string_agg(id || ':' || status || ':' || priority || ':' || description, ',' ORDER BY id) FROM tasks) AS state`,
      );
      return rows[0];
    };
    const before = await count();
    expect(Number(before?.tasks)).toBeGreaterThan(5);
    await stack.stopReplicas();
    const env = { DATABASE_URL: stack.db.url, KAFKA_BROKERS: sharedStack().endpoints.kafkaBrokers.join(',') };
    const replay = runPipeline(['replay', '--group', stack.group, '--topic', stack.topic, '--earliest', '--execute'], env);
    expect(replay.stderr).toBe('');
    expect(replay.status).toBe(0);
    const { rows: mark } = await stack.db.pool.query<{ id: string }>('SELECT coalesce(max(id), 0) AS id FROM event_outcomes');
    await stack.startReplica();
    await stack.settled();
    const { rows: replayed } = await stack.db.pool.query<{ outcome: string; n: string }>(
      'SELECT outcome, count(*) AS n FROM event_outcomes WHERE consumer_group = $1 AND id > $2 GROUP BY outcome ORDER BY outcome',
      [stack.group, mark[0]?.id],
    );
    // Every change read again: those that wrote something are skipped; those that wrote nothing (stayed healthy) do nothing again.
    expect(replayed.map((row) => row.outcome)).toEqual(expect.arrayContaining(['skipped']));
    expect(replayed.every((row) => ['skipped', 'processed', 'dead_lettered', 'retried'].includes(row.outcome))).toBe(true);
    expect(replayed.reduce((sum, row) => sum + Number(row.n), 0)).toBeGreaterThanOrEqual(stack.expected - 1);
    expect(await count()).toEqual(before);
  }, 90_000);
});
