-- The pipeline's own bookkeeping (ARCHITECTURE.md, "Delivery guarantees").

-- Effectively-once consumers: a handler's effects commit with this row; a redelivery finds it.
CREATE TABLE processed_events (
  consumer      text NOT NULL,
  event_id      text NOT NULL,
  processed_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, event_id)
);

-- Projections store their Kafka position in the same transaction as their read model.
CREATE TABLE projection_checkpoints (
  projection   text NOT NULL,
  topic        text NOT NULL,
  "partition"  integer NOT NULL,
  "offset"     bigint NOT NULL,
  updated_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (projection, topic, "partition")
);

-- Effects outside the database (an email, a stored PDF): claim, perform, record.
CREATE TABLE effects_ledger (
  effect_key    text NOT NULL,
  effect        text NOT NULL,
  status        text NOT NULL DEFAULT 'claimed' CHECK (status IN ('claimed', 'recorded', 'abandoned')),
  attempts      integer NOT NULL DEFAULT 1,
  claimed_at    timestamptz NOT NULL DEFAULT now(),
  recorded_at   timestamptz,
  -- The provider's id for what was done, for example SES's MessageId.
  provider_ref  text,
  result        jsonb,
  last_error    text,
  PRIMARY KEY (effect_key, effect)
);
CREATE INDEX effects_ledger_unrecorded_idx ON effects_ledger (claimed_at) WHERE status = 'claimed';

-- The cdc-reader's own state: the only tables its role may write.
CREATE SCHEMA cdc_reader;

-- Every slot the reader has used, so a vanished slot can be told from one never created.
CREATE TABLE cdc_reader.slots (
  slot_name           text PRIMARY KEY,
  database_system_id  text NOT NULL,
  publication         text NOT NULL,
  created_at          timestamptz NOT NULL DEFAULT now(),
  consistent_point    pg_lsn,
  last_confirmed_lsn  pg_lsn,
  last_seen_at        timestamptz,
  retired_at          timestamptz,
  retired_reason      text
);

-- Progress of the initial snapshot, per slot and table (keyset paging position).
CREATE TABLE cdc_reader.snapshot_progress (
  slot_name     text NOT NULL REFERENCES cdc_reader.slots (slot_name),
  table_name    text NOT NULL,
  last_key      jsonb,
  rows_emitted  bigint NOT NULL DEFAULT 0,
  done          boolean NOT NULL DEFAULT false,
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (slot_name, table_name)
);
