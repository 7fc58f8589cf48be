import { type Fingerprint, type ParsedSchema, parseSchema, SCHEMA_TOPIC, SchemaCatalog, UnknownSchemaError } from '@pipeline/schemas';
import type { Admin, Kafka, Producer } from 'kafkajs';
import { readTopicToEnd } from './read-topic';
import { ensureTopics } from './topics';

/**
 * Schema distribution over Kafka (docs/architecture.md, "The event contract"): a writer publishes
 * each writer schema to a compacted topic before the first record that uses it; a reader resolves
 * a fingerprint from its bundled schemas, then from that topic.
 */

/** Compaction keeps the latest record of each fingerprint forever; schemas are never deleted. */
export async function ensureSchemaTopic(admin: Admin, topic = SCHEMA_TOPIC, replicationFactor = 1): Promise<void> {
  await ensureTopics(admin, [
    {
      topic,
      numPartitions: 1,
      replicationFactor,
      configEntries: { 'cleanup.policy': 'compact', 'min.compaction.lag.ms': '0' },
    },
  ]);
}

/**
 * Writer side: publishes each schema once, before the first record that uses it (the caller
 * awaits `publish` before producing the record). acks=all, so a record never becomes visible
 * before its schema is durable.
 */
export class SchemaPublisher {
  private readonly published = new Set<string>();

  constructor(
    private readonly producer: Producer,
    private readonly topic: string = SCHEMA_TOPIC,
  ) {}

  async publish(schema: ParsedSchema): Promise<void> {
    if (this.published.has(schema.fingerprint.hex)) return;
    await this.producer.send({
      topic: this.topic,
      acks: -1,
      messages: [
        {
          key: schema.fingerprint.hex,
          value: JSON.stringify(schema.json),
          headers: { 'schema-name': schema.name },
        },
      ],
    });
    this.published.add(schema.fingerprint.hex);
  }
}

export interface SchemaResolverOptions {
  kafka: Kafka;
  /** Schemas shipped with the consumer (schemas/avro); consulted before the topic. */
  bundled?: Iterable<ParsedSchema>;
  topic?: string;
  /** A miss within this long after a refresh does not trigger another one, ms. Default 1000. */
  minRefreshIntervalMs?: number;
  /** Deadline of one read of the topic, ms. Default 30000. */
  refreshTimeoutMs?: number;
  /** Told about a record of the topic that is not a usable schema (it is skipped, never fatal). */
  onSkipped?: (reason: string) => void;
}

/**
 * Reader side: resolves a fingerprint from the bundled schemas, then from what it has read of
 * `_pipeline.schemas`; on a miss it reads the topic again from the earliest offset up to its high
 * watermark. Everything read stays in memory, so a restarted process finds every schema again
 * with one read.
 */
export class SchemaResolver {
  private readonly catalog: SchemaCatalog;
  private readonly topic: string;
  private readonly minRefreshIntervalMs: number;
  private readonly refreshTimeoutMs: number;
  private refreshing: Promise<void> | undefined;
  private lastRefreshAt = 0;

  constructor(private readonly options: SchemaResolverOptions) {
    this.catalog = new SchemaCatalog(options.bundled ?? []);
    this.topic = options.topic ?? SCHEMA_TOPIC;
    this.minRefreshIntervalMs = options.minRefreshIntervalMs ?? 1_000;
    this.refreshTimeoutMs = options.refreshTimeoutMs ?? 30_000;
  }

  /** For SingleObjectDecoder: the writer schema of a fingerprint, or UnknownSchemaError (retriable). */
  readonly resolve = async (fingerprint: Fingerprint): Promise<ParsedSchema> => {
    const known = this.catalog.get(fingerprint.hex);
    if (known) return known;
    if (Date.now() - this.lastRefreshAt >= this.minRefreshIntervalMs || this.refreshing) await this.refresh();
    const found = this.catalog.get(fingerprint.hex);
    if (!found) throw new UnknownSchemaError(fingerprint.hex, `topic ${this.topic}`);
    return found;
  };

  /** Reads the schema topic from the earliest offset up to the high watermark (one read at a time). */
  refresh(): Promise<void> {
    this.refreshing ??= this.readTopic().finally(() => {
      this.refreshing = undefined;
      this.lastRefreshAt = Date.now();
    });
    return this.refreshing;
  }

  private async readTopic(): Promise<void> {
    await readTopicToEnd(this.options.kafka, this.topic, {
      onMessage: (message, partition) => this.addRecord(partition, message.offset, message.value),
      timeoutMs: this.refreshTimeoutMs,
    });
  }

  private addRecord(partition: number, offset: string, value: Buffer | null): void {
    if (!value) return; // a tombstone: nothing to learn
    try {
      this.catalog.add(parseSchema(JSON.parse(value.toString('utf8'))));
    } catch (error) {
      this.options.onSkipped?.(`${this.topic} partition ${partition} offset ${offset}: ${(error as Error).message}`);
    }
  }

  /** How many schemas are known (bundled plus read). */
  get size(): number {
    return this.catalog.size;
  }
}
