-- Database webhooks (services/webhook-dispatcher): subscriptions, the delivery queue and the log.

CREATE TABLE webhook_subscriptions (
  id                     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name                   text NOT NULL UNIQUE,
  url                    text NOT NULL,
  -- The whsec_ secret sealed with WEBHOOK_SECRETS_KEY (AES-256-GCM), never stored in clear.
  secret_sealed          text NOT NULL,
  -- During a rotation the previous secret also signs, until previous_secret_until.
  previous_secret_sealed text,
  previous_secret_until  timestamptz,
  tables                 text[] NOT NULL,
  operations             text[] NOT NULL DEFAULT '{}',
  changed_columns        text[] NOT NULL DEFAULT '{}',
  active                 boolean NOT NULL DEFAULT true,
  disabled_reason        text,
  max_concurrency        integer NOT NULL DEFAULT 4 CHECK (max_concurrency BETWEEN 1 AND 64),
  max_per_second         numeric CHECK (max_per_second > 0),
  -- Per-endpoint backoff: no attempt to this endpoint before then (a 429's Retry-After, a failing run).
  backoff_until          timestamptz,
  created_at             timestamptz NOT NULL DEFAULT now(),
  updated_at             timestamptz NOT NULL DEFAULT now()
);

-- One row per subscription and event: queued in the transaction that records the event as
-- processed, so a replay of the topic queues nothing twice.
CREATE TABLE webhook_deliveries (
  id               bigserial PRIMARY KEY,
  subscription_id  uuid NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
  event_id         text NOT NULL,
  webhook_id       text NOT NULL,
  -- The changed row's key: a row's deliveries to one endpoint go in commit (id) order.
  row_key          text NOT NULL,
  payload          jsonb NOT NULL,
  committed_at     timestamptz,
  status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead')),
  attempts         integer NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz NOT NULL DEFAULT now(),
  locked_until     timestamptz,
  last_error       text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  finished_at      timestamptz,
  UNIQUE (subscription_id, event_id)
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_row_idx ON webhook_deliveries (subscription_id, row_key, id) WHERE status = 'pending';

-- Every attempt: what the endpoint answered and how long it took.
CREATE TABLE webhook_attempts (
  id               bigserial PRIMARY KEY,
  delivery_id      bigint NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
  subscription_id  uuid NOT NULL,
  event_id         text NOT NULL,
  attempted_at     timestamptz NOT NULL DEFAULT now(),
  status_code      integer,
  latency_ms       integer NOT NULL,
  verdict          text NOT NULL CHECK (verdict IN ('delivered', 'retry', 'disable', 'dead')),
  error            text
);
CREATE INDEX webhook_attempts_subscription_idx ON webhook_attempts (subscription_id, attempted_at DESC);
