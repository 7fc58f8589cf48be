-- Retry, dead-letter and redrive topics follow the consumer group (<group>.retry.N, <group>.dlq,
-- <group>.redrive; the group defaults to the service name), so two groups of one service never
-- handle each other's copies. What operators did with a dead letter, the admins' alert windows
-- and every outcome are therefore recorded per group too. Existing rows belong to the default group.
ALTER TABLE dead_letter_actions ADD COLUMN consumer_group text;
UPDATE dead_letter_actions SET consumer_group = service;
ALTER TABLE dead_letter_actions ALTER COLUMN consumer_group SET NOT NULL;
DROP INDEX dead_letter_actions_letter_idx;
CREATE INDEX dead_letter_actions_letter_idx ON dead_letter_actions (consumer_group, dlq_partition, dlq_offset);

ALTER TABLE admin_alert_windows ADD COLUMN consumer_group text;
UPDATE admin_alert_windows SET consumer_group = service;
ALTER TABLE admin_alert_windows ALTER COLUMN consumer_group SET NOT NULL;
ALTER TABLE admin_alert_windows DROP CONSTRAINT admin_alert_windows_pkey;
ALTER TABLE admin_alert_windows ADD PRIMARY KEY (service, consumer_group, error_code);

ALTER TABLE event_outcomes ADD COLUMN consumer_group text;
UPDATE event_outcomes SET consumer_group = service;
ALTER TABLE event_outcomes ALTER COLUMN consumer_group SET NOT NULL;

-- Scheduled jobs (the consumer kit's scheduleJob). Times come from the scheduler's clock, not
-- now(), so a test can move that clock across a day.

-- Every job a service registers at start.
CREATE TABLE jobs (
  service        text NOT NULL,
  name           text NOT NULL,
  cron           text NOT NULL,
  time_zone      text NOT NULL,
  -- First registration: a run due before it is never caught up.
  registered_at  timestamptz NOT NULL,
  -- Last time a replica started with this job (and its cron and time zone then).
  seen_at        timestamptz NOT NULL,
  PRIMARY KEY (service, name)
);

-- One row per occurrence a replica took on: at most one successful run per occurrence across
-- replicas. The replica working on it holds a session advisory lock on the occurrence; a claim
-- still 'claimed' whose lock nobody holds belongs to a replica that died, and is taken over.
CREATE TABLE job_claims (
  service        text NOT NULL,
  job            text NOT NULL,
  scheduled_for  timestamptz NOT NULL,
  claimed_by     text NOT NULL,
  claimed_at     timestamptz NOT NULL,
  status         text NOT NULL CHECK (status IN ('claimed', 'succeeded', 'failed')),
  closed_at      timestamptz,
  PRIMARY KEY (service, job, scheduled_for),
  FOREIGN KEY (service, job) REFERENCES jobs (service, name) ON DELETE CASCADE
);

-- One row per attempt, scheduled or manual (`pipeline jobs run`, which never takes a claim).
CREATE TABLE job_runs (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  service        text NOT NULL,
  job            text NOT NULL,
  -- The occurrence (schedule), or when the run was asked for (manual).
  scheduled_for  timestamptz NOT NULL,
  trigger        text NOT NULL CHECK (trigger IN ('schedule', 'manual')),
  attempt        integer NOT NULL,
  replica        text NOT NULL,
  started_at     timestamptz NOT NULL,
  finished_at    timestamptz,
  -- running until it ends; abandoned when its replica died and another took the claim over.
  outcome        text NOT NULL CHECK (outcome IN ('running', 'succeeded', 'failed', 'abandoned')),
  items          integer,
  details        jsonb,
  error          text,
  FOREIGN KEY (service, job) REFERENCES jobs (service, name) ON DELETE CASCADE
);
CREATE INDEX job_runs_job_idx ON job_runs (service, job, started_at DESC);
