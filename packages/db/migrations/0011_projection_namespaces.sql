-- Where a projection keeps the ids of the events it applied (its namespace in processed_events).
-- Without a row here it is 'projection:<name>'. A rebuild fills a namespace of its own and its swap
-- points the projection at it by updating one row, instead of rewriting every id inside the
-- projection's exclusive lock; the old namespace's rows are deleted after the swap.
CREATE TABLE projection_namespaces (
  projection text PRIMARY KEY,
  namespace  text NOT NULL UNIQUE,
  updated_at timestamptz NOT NULL DEFAULT now()
);
