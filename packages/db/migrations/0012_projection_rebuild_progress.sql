-- A rebuild in progress (`pipeline projection rebuild`), updated every second and removed when it
-- ends: the live projector exports it as metrics (projection_rebuild_*), `pipeline projection
-- status` shows it. A row whose updated_at stops moving is a rebuild that died.
CREATE TABLE projection_rebuild_progress (
  projection   text PRIMARY KEY,
  started_at   timestamptz NOT NULL,
  events_done  bigint NOT NULL DEFAULT 0,
  events_total bigint NOT NULL,
  updated_at   timestamptz NOT NULL DEFAULT now()
);
