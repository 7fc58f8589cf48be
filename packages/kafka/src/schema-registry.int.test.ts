import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import {
  buildEnvelopeSchema,
  encodeSingleObject,
  envelopeSchema,
  type ParsedSchema,
  parseSchema,
  readRowSchema,
  SingleObjectDecoder,
  UnknownSchemaError,
} from '@pipeline/schemas';
import { edgeEnvelope, firstEdgeRow } from '@pipeline/schemas/fixtures';
import { sharedStack, testKafka, uniqueName } from '@pipeline/testing';
import type { Kafka } from 'kafkajs';
import { ensureSchemaTopic, SchemaPublisher, SchemaResolver } from './schema-registry';
import { ensureTopics } from './topics';

/** public.orders as released (v1), and a v2 that adds a nullable column with a default. */
const v1 = envelopeSchema('public.orders');
const v2row = readRowSchema('public.orders');
v2row.fields.push({ name: 'discount', type: ['null', { type: 'bytes', logicalType: 'decimal', precision: 12, scale: 2 }], default: null });
const v2 = parseSchema(buildEnvelopeSchema('public.orders', v2row));
const order: Record<string, unknown> = { ...firstEdgeRow('public.orders') };

describe('schema distribution through the real broker', () => {
  let kafka: Kafka;
  let schemaTopic: string;
  let dataTopic: string;

  beforeAll(async () => {
    kafka = testKafka('schemas-int');
    schemaTopic = uniqueName('_pipeline.schemas.test');
    dataTopic = uniqueName('test.orders');
    const admin = kafka.admin();
    await admin.connect();
    await ensureSchemaTopic(admin, schemaTopic);
    await ensureTopics(admin, [{ topic: dataTopic, numPartitions: 1, replicationFactor: 1 }]);
    const configs = await admin.describeConfigs({
      resources: [{ type: 2, name: schemaTopic, configNames: ['cleanup.policy'] }],
      includeSynonyms: false,
    });
    expect(configs.resources[0]?.configEntries[0]?.configValue).toBe('compact');
    await admin.disconnect();

    // A writer on v1, then one upgraded to v2: each publishes its schema before its first record.
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const publisher = new SchemaPublisher(producer, schemaTopic);
    const write = async (schema: ParsedSchema, value: unknown) => {
      await publisher.publish(schema);
      await producer.send({ topic: dataTopic, acks: -1, messages: [{ key: 'k', value: encodeSingleObject(schema, value) }] });
    };
    await write(v1, edgeEnvelope('public.orders', 'c', null, order));
    await write(v2, edgeEnvelope('public.orders', 'u', order, { ...order, discount: '-12.34' }));
    await write(v2, edgeEnvelope('public.orders', 'u', order, { ...order, discount: null }));
    await producer.disconnect();
  });

  async function readData(): Promise<Buffer[]> {
    const consumer = kafka.consumer({ groupId: uniqueName('test-reader') });
    await consumer.connect();
    await consumer.subscribe({ topic: dataTopic, fromBeginning: true });
    const values: Buffer[] = [];
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          eachMessage: async ({ message }) => {
            if (message.value) values.push(message.value);
            if (values.length === 3) resolve();
          },
        })
        .catch(reject);
    });
    await consumer.disconnect();
    return values;
  }

  it('a consumer holding only v2 reads the v1 record (the new column takes its default) and the v2 records', async () => {
    const resolver = new SchemaResolver({ kafka, topic: schemaTopic, bundled: [v2] });
    const decoder = new SingleObjectDecoder(resolver.resolve);
    const decoded = await Promise.all((await readData()).map((bytes) => decoder.decode<{ after: Record<string, unknown> }>(bytes, v2)));
    expect(decoded.map((d) => d.after.discount)).toEqual([null, '-12.34', null]);
    expect(decoded[0]?.after).toEqual({ ...order, discount: null });
  });

  it('a consumer holding only v1 reads v2 records, fetching the v2 schema from the schema topic', async () => {
    const resolver = new SchemaResolver({ kafka, topic: schemaTopic, bundled: [v1] });
    expect(resolver.size).toBe(1);
    const decoder = new SingleObjectDecoder(resolver.resolve);
    const decoded = await Promise.all(
      (await readData()).map((bytes) => decoder.decode<{ op: string; after: Record<string, unknown> }>(bytes, v1)),
    );
    expect(decoded.map((d) => d.op)).toEqual(['c', 'u', 'u']);
    for (const d of decoded) expect(d.after).toEqual(order);
    expect(resolver.size).toBe(2);
  });

  it('an unknown fingerprint, after a fresh read of the topic, is a retriable error naming it', async () => {
    const resolver = new SchemaResolver({ kafka, topic: schemaTopic, bundled: [v1] });
    const stranger = parseSchema({ type: 'record', name: 'Stranger', fields: [{ name: 'x', type: 'int' }] });
    const error = await new SingleObjectDecoder(resolver.resolve)
      .decode(encodeSingleObject(stranger, { x: 1 }), v1)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnknownSchemaError);
    expect(error).toMatchObject({ retriable: true, fingerprint: stranger.fingerprint.hex });
    expect((error as Error).message).toContain(
      `unknown schema fingerprint ${stranger.fingerprint.hex}: not bundled and not in topic ${schemaTopic}`,
    );
    // The topic was read on the miss: both published schemas are now known.
    expect(resolver.size).toBe(2);
  });

  it('a process started after the schema topic was written resolves every fingerprint', () => {
    const script = `
      const { SchemaResolver } = require(${JSON.stringify(join(__dirname, '..', 'dist', 'index.js'))});
      const { fingerprintFromBytes } = require('@pipeline/schemas');
      const { Kafka, logLevel } = require('kafkajs');
      const [brokers, topic, ...fingerprints] = process.argv.slice(1);
      const kafka = new Kafka({ clientId: 'restarted', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
      const resolver = new SchemaResolver({ kafka, topic });
      (async () => {
        const found = [];
        for (const hex of fingerprints) found.push((await resolver.resolve(fingerprintFromBytes(Buffer.from(hex, 'hex')))).fingerprint.hex);
        console.log(JSON.stringify(found));
      })().catch((e) => { console.error(e.message); process.exit(1); });
    `;
    const brokers = sharedStack().endpoints.kafkaBrokers.join(',');
    const fingerprints = [v1.fingerprint.hex, v2.fingerprint.hex];
    const result = spawnSync(process.execPath, ['-e', script, brokers, schemaTopic, ...fingerprints], {
      encoding: 'utf8',
      cwd: join(__dirname, '..'),
    });
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual(fingerprints);
    expect(result.status).toBe(0);
  });
});
