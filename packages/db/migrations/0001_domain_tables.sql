-- The application's own tables: what the app writes and what the consumers maintain.
-- Money is numeric (exact); timestamps are timestamptz (microseconds).

CREATE TABLE customers (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email       text NOT NULL UNIQUE,
  name        text NOT NULL,
  locale      text NOT NULL DEFAULT 'en',
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE orders (
  id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  customer_id           uuid NOT NULL REFERENCES customers (id),
  status                text NOT NULL DEFAULT 'pending'
                          CHECK (status IN ('pending', 'confirmed', 'cancelled', 'failed')),
  total                 numeric(12, 2) NOT NULL CHECK (total >= 0),
  currency              char(3) NOT NULL DEFAULT 'USD',
  invoice_url           text,
  confirmation_sent_at  timestamptz,
  created_at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_customer_id_idx ON orders (customer_id);

CREATE TABLE suppliers (
  id                      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name                    text NOT NULL,
  email                   text,
  default_order_quantity  integer NOT NULL DEFAULT 1 CHECK (default_order_quantity > 0),
  created_at              timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE inventory (
  id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  sku                text NOT NULL UNIQUE,
  product_name       text NOT NULL,
  quantity           integer NOT NULL CHECK (quantity >= 0),
  reorder_threshold  integer NOT NULL DEFAULT 0 CHECK (reorder_threshold >= 0),
  supplier_id        uuid REFERENCES suppliers (id),
  attributes         jsonb NOT NULL DEFAULT '{}'::jsonb,
  updated_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE order_items (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  order_id      uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
  -- The inventory row this line draws stock from; null for items not kept in stock.
  inventory_id  uuid REFERENCES inventory (id),
  name          text NOT NULL,
  quantity      integer NOT NULL CHECK (quantity > 0),
  price         numeric(12, 2) NOT NULL CHECK (price >= 0)
);
CREATE INDEX order_items_order_id_idx ON order_items (order_id);

CREATE TABLE opportunities (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name        text NOT NULL,
  stage       text NOT NULL DEFAULT 'prospecting'
                CHECK (stage IN ('prospecting', 'qualification', 'proposal', 'negotiation', 'closed_won', 'closed_lost')),
  value       numeric(14, 2) NOT NULL DEFAULT 0 CHECK (value >= 0),
  owner       text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Written by inventory-watcher (reorder tasks) and, later, by people.
CREATE TABLE tasks (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  type         text NOT NULL,
  title        text NOT NULL,
  description  text,
  priority     text NOT NULL DEFAULT 'medium' CHECK (priority IN ('low', 'medium', 'high', 'urgent')),
  status       text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'in_progress', 'done', 'cancelled')),
  metadata     jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tasks_type_status_idx ON tasks (type, status);

CREATE TABLE notifications (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  type         text NOT NULL,
  title        text NOT NULL,
  message      text NOT NULL,
  action_url   text,
  target_role  text NOT NULL,
  priority     text NOT NULL DEFAULT 'medium' CHECK (priority IN ('low', 'medium', 'high', 'urgent')),
  read_at      timestamptz,
  created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notifications_target_role_unread_idx ON notifications (target_role, created_at) WHERE read_at IS NULL;

-- Read models of metrics-projector.
CREATE TABLE stage_transitions (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  opportunity_id  uuid NOT NULL,
  from_stage      text,
  to_stage        text,
  value           numeric(14, 2) NOT NULL,
  transitioned_at timestamptz NOT NULL,
  event_id        text NOT NULL UNIQUE
);
CREATE INDEX stage_transitions_opportunity_idx ON stage_transitions (opportunity_id, transitioned_at);

CREATE TABLE sales_metrics (
  period_start    date PRIMARY KEY,
  deals_won       integer NOT NULL DEFAULT 0,
  deals_lost      integer NOT NULL DEFAULT 0,
  revenue_closed  numeric(16, 2) NOT NULL DEFAULT 0,
  win_rate        numeric(7, 6) GENERATED ALWAYS AS (
                    CASE WHEN deals_won + deals_lost > 0
                         THEN round(deals_won::numeric / (deals_won + deals_lost), 6) END
                  ) STORED,
  updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE pipeline_stage_values (
  stage              text PRIMARY KEY,
  opportunity_count  integer NOT NULL DEFAULT 0,
  total_value        numeric(16, 2) NOT NULL DEFAULT 0,
  updated_at         timestamptz NOT NULL DEFAULT now()
);
