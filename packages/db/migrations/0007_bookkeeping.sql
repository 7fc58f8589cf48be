-- Each consumer service prunes its own event_outcomes by age (a daily job of the consumer kit).
CREATE INDEX event_outcomes_service_recorded_idx ON event_outcomes (service, recorded_at);

-- What operators did with entries of the effects ledger (pipeline effects release | mark-recorded |
-- abandon): who, when, why. The ledger itself keeps only the entry's current state.
CREATE TABLE effect_actions (
  id            bigserial PRIMARY KEY,
  effect_key    text NOT NULL,
  effect        text NOT NULL,
  action        text NOT NULL CHECK (action IN ('released', 'marked_recorded', 'abandoned')),
  actor         text NOT NULL,
  note          text,
  provider_ref  text,
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX effect_actions_effect_idx ON effect_actions (effect_key, effect, created_at);
