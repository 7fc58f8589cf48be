import { cdcTopicPrefixField, HTTP_PORTS, serviceEnvSchema } from '@pipeline/kit';
import { type Env, envFields, parseConfig } from '@pipeline/runtime';
import { SCHEMA_TOPIC } from '@pipeline/schemas';
import { z } from 'zod';

export const SERVICE = 'cdc-reader' as const;

const identifier = (what: string) =>
  z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, { error: `expected a ${what} name: lower case letters, digits and _, at most 63` });

export const configSchema = serviceEnvSchema({ httpPort: HTTP_PORTS[SERVICE] }).extend({
  /** Logical replication slot the reader streams from. Default pipeline_cdc. */
  CDC_SLOT_NAME: identifier('replication slot').default('pipeline_cdc'),
  /** Publication listing the captured tables (created by migrations). Default pipeline. */
  CDC_PUBLICATION: identifier('publication').default('pipeline'),
  /** Topics are <prefix>.<schema>.<table>. Default cdc. */
  CDC_TOPIC_PREFIX: cdcTopicPrefixField(),
  /** Partitions of each cdc topic (the consumers' unit of scale). Default 3. */
  CDC_TOPIC_PARTITIONS: envFields.positiveInt(3),
  /** How often a heartbeat is written to the WAL so an idle slot still advances, ms. Default 10000. */
  CDC_HEARTBEAT_INTERVAL_MS: envFields.positiveInt(10_000),
  /** Reading pauses while this many bytes of events await Kafka's acknowledgement (two batches). Default 1 MiB. */
  CDC_MAX_IN_FLIGHT_BYTES: envFields.positiveInt(1024 * 1024),
  /** How long a batch holding a finished transaction waits for more before it is sent, ms. Default 5. */
  CDC_LINGER_MS: z.coerce.number({ error: 'expected milliseconds' }).int().min(0, { error: 'expected 0 or more milliseconds' }).default(5),
  /** Compacted topic of writer schemas, keyed by fingerprint. Default _pipeline.schemas. */
  CDC_SCHEMA_TOPIC: z.string().min(1).default(SCHEMA_TOPIC),
  /** Where changes that cannot be encoded go (with the error), instead of stopping the reader. Default _pipeline.cdc.dlq. */
  CDC_DLQ_TOPIC: z.string().min(1).default('_pipeline.cdc.dlq'),
  /** Longest wait between reconnection attempts, ms (backoff starts at 250). Default 10000. */
  CDC_RECONNECT_MAX_DELAY_MS: envFields.positiveInt(10_000),
  /** initial: a newly created slot first emits every existing row (op r); never: only changes from then on. Default initial. */
  CDC_SNAPSHOT_MODE: z.enum(['initial', 'never'], { error: 'expected initial or never' }).default('initial'),
  /** Rows per page of the initial snapshot (keyset paging on the primary key). Default 2000. */
  CDC_SNAPSHOT_PAGE_ROWS: envFields.positiveInt(2_000),
  /** Replace a slot that vanished or lost WAL with a new slot and a new snapshot, instead of stopping. Default false. */
  CDC_ALLOW_NEW_SNAPSHOT: envFields.boolean(false),
  /** Write BEGIN and END records of every transaction (event counts per table) to <prefix>.transactions. Default false. */
  CDC_TRANSACTION_TOPIC: envFields.boolean(false),
  /** How often a standby tries for the leader lock, and the leader checks its lock session, ms. Default 1000. */
  CDC_STANDBY_POLL_MS: envFields.positiveInt(1_000),
  /** How often slot lag and retained WAL are read for /metrics, ms. Default 10000. */
  CDC_SLOT_LAG_POLL_MS: envFields.positiveInt(10_000),
  /** `prepare` only: the password it gives the reader role (pipeline_reader) after migrating. Unset: left as it is. */
  CDC_READER_PASSWORD: envFields.nonEmpty().optional(),
});

export type Config = z.output<typeof configSchema>;

export const loadConfig = (env: Env): Config => parseConfig(SERVICE, configSchema, env);
