-- Per source partition, the position below which the metrics projection has removed everything it
-- stored from that partition: a truncate, or the end of a new snapshot. A late copy of an older
-- change for an opportunity the projection does not hold (its insert was on the retry ladder when
-- the truncate came, or it was deleted while no slot existed) is then recognised as older and never
-- brings the opportunity back. Part of the projection: a rebuild builds its own.
CREATE TABLE opportunity_projection_floors (
  source_partition integer PRIMARY KEY,
  position_lsn     bigint NOT NULL,
  position_ord     integer NOT NULL,
  updated_at       timestamptz NOT NULL DEFAULT now()
);
