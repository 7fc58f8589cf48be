-- order-processor: stock reservations, holds and invoices.

-- An order waiting for stock is on_hold; a shipped one has left the warehouse.
ALTER TABLE orders DROP CONSTRAINT orders_status_check;
ALTER TABLE orders ADD CONSTRAINT orders_status_check
  CHECK (status IN ('pending', 'confirmed', 'on_hold', 'shipped', 'cancelled', 'failed'));

-- Stock taken from an inventory row for one order item. One row per order and item, so a
-- redelivered order never decrements twice; released_at is set once, when the stock goes back
-- (the order was cancelled). No foreign key to inventory: a reservation outlives its item.
CREATE TABLE stock_reservations (
  order_id       uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
  order_item_id  uuid NOT NULL REFERENCES order_items (id) ON DELETE CASCADE,
  inventory_id   uuid NOT NULL,
  quantity       integer NOT NULL CHECK (quantity > 0),
  reserved_at    timestamptz NOT NULL DEFAULT now(),
  released_at    timestamptz,
  PRIMARY KEY (order_id, order_item_id)
);
CREATE INDEX stock_reservations_inventory_idx ON stock_reservations (inventory_id);

-- Why an order was put on hold: the items short of stock, what was wanted and what there was.
CREATE TABLE order_holds (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  order_id     uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
  reason       text NOT NULL,
  short_items  jsonb NOT NULL DEFAULT '[]'::jsonb,
  event_id     text,
  created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX order_holds_order_idx ON order_holds (order_id, created_at);

-- One invoice per order: its number is allocated once and reused by every retry and replay.
CREATE SEQUENCE invoice_number_seq;
CREATE TABLE invoices (
  order_id        uuid PRIMARY KEY REFERENCES orders (id) ON DELETE CASCADE,
  invoice_number  text NOT NULL UNIQUE,
  issued_at       timestamptz NOT NULL DEFAULT now(),
  -- Set once the PDF is in the invoice store.
  stored_at       timestamptz,
  sha256          text,
  size_bytes      integer
);
