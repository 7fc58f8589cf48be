-- The dispatcher claims at most max_concurrency due deliveries per subscription at a time (fair
-- across endpoints: one endpoint's backlog never takes the claim from the others); it reads each
-- subscription's oldest pending deliveries in id order.
CREATE INDEX webhook_deliveries_subscription_pending_idx ON webhook_deliveries (subscription_id, id) WHERE status = 'pending';
