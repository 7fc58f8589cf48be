import { outcomesOf } from '@pipeline/db';
import { ensureTopics } from '@pipeline/kafka';
import { makeLogger, parseConfig } from '@pipeline/runtime';
import { firstEdgeRow } from '@pipeline/schemas/fixtures';
import {
  changeMessage,
  createTestDatabase,
  groupCaughtUp,
  sharedStack,
  snapshotEndMessage,
  type TestDatabase,
  testKafka,
  testLogLevel,
  uniqueName,
} from '@pipeline/testing';
import type { Kafka } from 'kafkajs';
import { Registry } from 'prom-client';
import { type ConsumerServiceConfig, consumerServiceEnvSchema } from './config';
import { type ConsumerServiceSpec, type StartedConsumerService, startConsumerService } from './consumer-service';

/**
 * The end-of-snapshot record reaches only a service that registers a handler for it, in its place
 * among the changes of its partition (between two batches); every other service acknowledges it
 * unseen and records no outcome for it.
 */
describe('startConsumerService: the end of a snapshot', () => {
  let kafka: Kafka;
  let db: TestDatabase;
  let prefix: string;
  const started: StartedConsumerService[] = [];

  beforeAll(async () => {
    kafka = testKafka('snapshot-end');
    db = await createTestDatabase('snapend');
    prefix = uniqueName('test_snapend');
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, [{ topic: `${prefix}.public.inventory`, numPartitions: 3, replicationFactor: 1 }]);
    await admin.disconnect();
  }, 60_000);

  afterAll(async () => {
    for (const service of started) await service.stop();
    await db.drop();
  });

  const start = async (service: string, spec: Omit<ConsumerServiceSpec<ConsumerServiceConfig>, 'service'>) => {
    const config = parseConfig(service, consumerServiceEnvSchema({ httpPort: 9199 }), {
      DATABASE_URL: db.url,
      KAFKA_BROKERS: sharedStack().endpoints.kafkaBrokers.join(','),
      CDC_TOPIC_PREFIX: prefix,
      RETRY_DELAYS_MS: '1000',
      CONSUMER_SESSION_TIMEOUT_MS: '6000',
      HANDLER_TIMEOUT_MS: '3000',
    });
    const logger = makeLogger({ service, level: testLogLevel('silent') });
    const running = await startConsumerService({ config, logger, registry: new Registry(), fatal: jest.fn() }, { service, ...spec });
    started.push(running);
    return running;
  };

  it('goes to the handler registered for it, between the batches around it; a service without one never sees it', async () => {
    const topic = `${prefix}.public.inventory`;
    const row = firstEdgeRow('public.inventory');
    const aware: string[] = [];
    const unaware: string[] = [];
    const awareService = uniqueName('test-snapend-aware');
    const unawareService = uniqueName('test-snapend-plain');
    await start(awareService, {
      handlers: {
        'public.inventory': async (change) => {
          aware.push(`change ${change.eventId}`);
        },
      },
      batchHandlers: {
        'public.inventory': async (items) => {
          aware.push(`batch ${items.map((item) => item.eventId).join(',')}`);
          return items.map(() => 'processed' as const);
        },
      },
      snapshotEndHandlers: {
        'public.inventory': async (end, ctx) => {
          aware.push(`end ${end.subject} p${end.partition} from p${ctx.source.partition}`);
          return 'processed';
        },
      },
    });
    await start(unawareService, {
      handlers: {
        'public.inventory': async (change) => {
          unaware.push(change.eventId);
        },
      },
    });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic,
      messages: [
        { ...changeMessage('public.inventory', 'snapend-a', 'c', row).message, partition: 1 },
        snapshotEndMessage('public.inventory', 1, 3),
        { ...changeMessage('public.inventory', 'snapend-b', 'u', row).message, partition: 1 },
        snapshotEndMessage('public.inventory', 0, 3),
        snapshotEndMessage('public.inventory', 2, 3),
      ],
    });
    await producer.disconnect();
    await groupCaughtUp(kafka, awareService, topic);
    await groupCaughtUp(kafka, unawareService, topic);

    expect(aware.filter((line) => line.startsWith('end')).sort()).toEqual([
      'end public.inventory p0 from p0',
      'end public.inventory p1 from p1',
      'end public.inventory p2 from p2',
    ]);
    // On partition 1: the change before it, the end, the change after it, in that order.
    const onOne = aware.filter((line) => !line.startsWith('end') || line.includes('p1 from'));
    expect(onOne.join(' | ').replace(/(batch|change) /g, '')).toBe('snapend-a | end public.inventory p1 from p1 | snapend-b');
    expect(unaware).toEqual(['snapend-a', 'snapend-b']);

    const endId = (partition: number) => `7301:0/10:e:public.inventory:p${partition}`;
    const trail = async (id: string, group: string) =>
      (await outcomesOf(db.pool, id)).filter((o) => o.group === group).map((o) => o.outcome);
    for (const partition of [0, 1, 2]) {
      expect(await trail(endId(partition), awareService)).toEqual(['processed']);
      expect(await trail(endId(partition), unawareService)).toEqual([]);
    }
    expect(await trail('snapend-b', unawareService)).toEqual(['processed']);
    // A batch's outcomes carry what tracing needs too; the end of a snapshot has a table but no row or commit time.
    const traced = async (id: string) =>
      (await outcomesOf(db.pool, id))
        .filter((o) => o.group === awareService)
        .map((o) => [o.subject, o.rowKey, o.committedAt?.toISOString()]);
    expect(await traced('snapend-a')).toEqual([['public.inventory', row.id, '2026-11-29T17:35:04.123Z']]);
    expect(await traced(endId(1))).toEqual([['public.inventory', undefined, undefined]]);
  }, 90_000);
});
