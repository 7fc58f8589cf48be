-- What operators did with dead letters (pipeline dlq redrive / resolve): who, when, and why.
CREATE TABLE dead_letter_actions (
  id             bigserial PRIMARY KEY,
  service        text NOT NULL,
  dlq_partition  integer NOT NULL,
  dlq_offset     bigint NOT NULL,
  action         text NOT NULL CHECK (action IN ('redriven', 'resolved')),
  actor          text NOT NULL,
  note           text,
  event_id       text,
  created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dead_letter_actions_letter_idx ON dead_letter_actions (service, dlq_partition, dlq_offset);

-- Rate limit of the admins' dead-letter alerts: the last alert per service and error code, and
-- how many letters arrived since without one.
CREATE TABLE admin_alert_windows (
  service        text NOT NULL,
  error_code     text NOT NULL,
  last_alert_at  timestamptz NOT NULL,
  suppressed     bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (service, error_code)
);
