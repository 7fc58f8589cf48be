-- Loopback and private endpoints are allowed per subscription (`pipeline webhooks add
-- --allow-private`), not only at the moment it is added: the dispatcher checks every address it
-- connects to against this flag (or WEBHOOK_ALLOW_PRIVATE_ENDPOINTS for the whole service).
ALTER TABLE webhook_subscriptions ADD COLUMN allow_private boolean NOT NULL DEFAULT false;

-- Subscriptions added before the flag existed to a loopback or private literal address were
-- allowed it then (loopback without asking, private with --allow-private): they keep working.
-- One that names a host which resolves to such an address was never checked: it must be added
-- again with --allow-private, and says so in its dead deliveries.
UPDATE webhook_subscriptions
   SET allow_private = true
 WHERE substring(url FROM '^[a-z]+://\[?([^/\]]*?)\]?(:[0-9]+)?(/|$)') ~ '^(localhost$|127\.|10\.|192\.168\.|172\.(1[6-9]|2[0-9]|3[01])\.|169\.254\.|100\.(6[4-9]|[7-9][0-9]|1[01][0-9]|12[0-7])\.|::1$|f[cd][0-9a-f]*:|fe[89ab][0-9a-f]*:)';
