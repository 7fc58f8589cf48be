import { cdcTopicPrefixField, HTTP_PORTS, serviceEnvSchema } from '@pipeline/kit';
import { type Env, envFields, parseConfig } from '@pipeline/runtime';
import { SCHEMA_TOPIC } from '@pipeline/schemas';
import { z } from 'zod';

export const SERVICE = 'cdc-reader' as const;

const identifier = (what: string) =>
  z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, { error: `expected a ${what} name: lower case letters, digits and _, at most 63` });

export const configSchema = serviceEnvSchema({ httpPort: HTTP_PORTS[SERVICE] }).extend({
  CDC_SLOT_NAME: identifier('replication slot').default('pipeline_cdc').describe('Logical replication slot the reader streams from.'),
  CDC_PUBLICATION: identifier('publication')
    .default('pipeline')
    .describe('Publication listing the captured tables (created by migrations).'),
  CDC_TOPIC_PREFIX: cdcTopicPrefixField().describe('Topics are <prefix>.<schema>.<table>.'),
  CDC_TOPIC_PARTITIONS: envFields.positiveInt(3).describe("Partitions of each cdc topic (the consumers' unit of scale)."),
  CDC_HEARTBEAT_INTERVAL_MS: envFields
    .positiveInt(10_000)
    .describe('How often a heartbeat is written to the WAL so an idle slot still advances, ms.'),
  CDC_MAX_IN_FLIGHT_BYTES: envFields
    .positiveInt(1024 * 1024)
    .describe("Reading pauses while this many bytes of events await Kafka's acknowledgement (two batches)."),
  CDC_LINGER_MS: z.coerce
    .number({ error: 'expected milliseconds' })
    .int()
    .min(0, { error: 'expected 0 or more milliseconds' })
    .default(5)
    .describe('How long a batch holding a finished transaction waits for more before it is sent, ms.'),
  CDC_SCHEMA_TOPIC: z.string().min(1).default(SCHEMA_TOPIC).describe('Compacted topic of writer schemas, keyed by fingerprint.'),
  CDC_DLQ_TOPIC: z
    .string()
    .min(1)
    .default('_pipeline.cdc.dlq')
    .describe(
      'Where the reader tells of a change it could not encode, or one too large for its topic (with what to do), instead of stopping.',
    ),
  CDC_RECONNECT_MAX_DELAY_MS: envFields
    .positiveInt(10_000)
    .describe('Longest wait between reconnection attempts, ms (backoff starts at 250).'),
  CDC_SNAPSHOT_MODE: z
    .enum(['initial', 'never'], { error: 'expected initial or never' })
    .default('initial')
    .describe('initial: a newly created slot first emits every existing row (op r); never: only changes from then on.'),
  CDC_SNAPSHOT_PAGE_ROWS: envFields
    .positiveInt(2_000)
    .describe('Rows per page of the initial snapshot (keyset paging on the primary key).'),
  CDC_ALLOW_NEW_SNAPSHOT: envFields
    .boolean(false)
    .describe('Replace a slot that vanished or lost WAL with a new slot and a new snapshot, instead of stopping.'),
  CDC_TRANSACTION_TOPIC: envFields
    .boolean(false)
    .describe('Write BEGIN and END records of every transaction (event counts per table) to <prefix>.transactions.'),
  CDC_STANDBY_POLL_MS: envFields
    .positiveInt(1_000)
    .describe('How often a standby tries for the leader lock, and the leader checks its lock session, ms.'),
  CDC_SLOT_LAG_POLL_MS: envFields.positiveInt(10_000).describe('How often slot lag and retained WAL are read for /metrics, ms.'),
  KAFKA_COMPRESSION: z
    .enum(['none', 'gzip'], { error: 'expected none or gzip' })
    .default('none')
    .describe(
      "Compression of what the reader produces: none or gzip. Kafka's max.message.bytes then applies to the compressed batch: a change too large uncompressed goes whole if its value compressed fits with a tenth of the limit to spare; batches are still kept within the limit uncompressed.",
    ),
  CDC_READER_PASSWORD: envFields
    .nonEmpty()
    .optional()
    .describe('`prepare` only: the password it gives the reader role (pipeline_reader) after migrating. Unset: left as it is.'),
});

export type Config = z.output<typeof configSchema>;

export const loadConfig = (env: Env): Config => parseConfig(SERVICE, configSchema, env);
