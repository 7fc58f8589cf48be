-- metrics-projector: sales metrics per owner, built from opportunity changes exactly once.
-- The old read model (sales_metrics by period with a 0-1 win rate, transitions without owner) was
-- never written by anything: it is replaced, not migrated.

DROP TABLE sales_metrics;

ALTER TABLE stage_transitions ADD COLUMN owner text;
ALTER TABLE stage_transitions ALTER COLUMN to_stage DROP NOT NULL;
COMMENT ON TABLE stage_transitions IS
  'One row per stage change of an opportunity, and one for its insert (from_stage NULL); transitioned_at is the commit time';

-- Per owner (NULL is its own bucket, hence the surrogate key).
CREATE TABLE sales_metrics (
  owner_key       text PRIMARY KEY,
  owner           text,
  deals_won       integer NOT NULL DEFAULT 0,
  deals_lost      integer NOT NULL DEFAULT 0,
  revenue_closed  numeric(16, 2) NOT NULL DEFAULT 0,
  win_rate_pct    numeric(5, 2) GENERATED ALWAYS AS (
                    CASE WHEN deals_won + deals_lost > 0
                         THEN round(100.0 * deals_won / (deals_won + deals_lost), 2) END
                  ) STORED,
  updated_at      timestamptz NOT NULL DEFAULT now()
);

-- Per owner and UTC month of close.
CREATE TABLE sales_metrics_monthly (
  owner_key       text NOT NULL,
  owner           text,
  month           date NOT NULL,
  deals_won       integer NOT NULL DEFAULT 0,
  deals_lost      integer NOT NULL DEFAULT 0,
  revenue_closed  numeric(16, 2) NOT NULL DEFAULT 0,
  win_rate_pct    numeric(5, 2) GENERATED ALWAYS AS (
                    CASE WHEN deals_won + deals_lost > 0
                         THEN round(100.0 * deals_won / (deals_won + deals_lost), 2) END
                  ) STORED,
  updated_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (owner_key, month)
);

-- Each opportunity as last applied, and where that change stands in the log: (commit LSN, ordinal),
-- a snapshot row at (consistent point, -1). A delete leaves a tombstone (deleted = true) so a late
-- copy of an older change cannot bring the opportunity back. `closed_month` is the UTC month of the
-- change that closed it (kept while it stays closed).
CREATE TABLE opportunity_projection (
  opportunity_id  uuid PRIMARY KEY,
  stage           text,
  value           numeric(14, 2),
  owner           text,
  closed_month    date,
  position_lsn    bigint NOT NULL,
  position_ord    integer NOT NULL,
  source_partition integer NOT NULL,
  deleted         boolean NOT NULL DEFAULT false,
  updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX opportunity_projection_partition_idx ON opportunity_projection (source_partition, position_lsn, position_ord);

-- Which consumer group applies a projection: `pipeline replay` refuses such a group (moving its
-- offsets would only make it skip what it has applied).
ALTER TABLE projection_checkpoints ADD COLUMN consumer_group text;

-- Rebuilds of a projection (`pipeline projection rebuild`): when, how many events, how it ended.
CREATE TABLE projection_rebuilds (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  projection   text NOT NULL,
  started_at   timestamptz NOT NULL,
  finished_at  timestamptz NOT NULL DEFAULT now(),
  events       bigint NOT NULL,
  seconds      double precision NOT NULL
);
CREATE INDEX projection_rebuilds_projection_idx ON projection_rebuilds (projection, finished_at DESC);
