-- What `pipeline trace` and latency need from each outcome without reading Kafka: the change's
-- commit time, its table (subject, `public.orders`) and its row's key (the message key).
-- NULL where it is not known: bytes that never decoded have no commit time.
ALTER TABLE event_outcomes
  ADD COLUMN committed_at timestamptz,
  ADD COLUMN subject      text,
  ADD COLUMN row_key      text;

-- An order's or a row's journey: its outcomes by table and key.
CREATE INDEX event_outcomes_row_idx ON event_outcomes (subject, row_key, recorded_at);

-- What a service handled lately (`pipeline status`: events per second) and what the daily prune deletes.
CREATE INDEX event_outcomes_service_time_idx ON event_outcomes (service, recorded_at);
