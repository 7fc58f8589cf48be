-- How the initial snapshot of each slot was interrupted, kept across slots and restarts: an
-- interrupted snapshot drops its slot and starts over, and a cause that repeats (three times in a
-- row) stops the reader instead of looping forever. A finished snapshot deletes its row.
CREATE TABLE cdc_reader.snapshot_interruptions (
  slot_name      text PRIMARY KEY,
  -- What interrupted the last attempt, as a stable key (an error code or class), and its message.
  cause          text,
  message        text,
  -- Attempts in a row that ended with that cause.
  times          integer NOT NULL DEFAULT 0,
  -- An attempt is running: found set at the next start, the reader ended without saying why (killed, out of memory).
  running        boolean NOT NULL DEFAULT false,
  updated_at     timestamptz NOT NULL DEFAULT now()
);

GRANT SELECT, INSERT, UPDATE, DELETE ON cdc_reader.snapshot_interruptions TO pipeline_reader;
