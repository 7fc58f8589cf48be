-- What happened to every event a consumer saw: processed, skipped as a duplicate, retried or
-- dead-lettered. Powers tracing one row's journey through the pipeline.
CREATE TABLE event_outcomes (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  service      text NOT NULL,
  event_id     text NOT NULL,
  topic        text NOT NULL,
  "partition"  integer NOT NULL,
  "offset"     bigint NOT NULL,
  outcome      text NOT NULL CHECK (outcome IN ('processed', 'skipped', 'retried', 'dead_lettered')),
  attempt      integer NOT NULL DEFAULT 1,
  error        text,
  recorded_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX event_outcomes_event_idx ON event_outcomes (event_id, recorded_at);
