-- A signed invoice link is a bearer token: it must not sit in a captured column (orders is
-- published, so it reached Kafka and every webhook subscriber of public.orders) nor in the
-- effects ledger. From now on the order-processor stores the invoice's address only and puts the
-- signed link in the email alone (`pipeline invoices link` mints a new one for support staff).
-- The links already stored lose their signature here. They were sent before, and stay valid until
-- they expire: to revoke every link at once, change INVOICE_LINK_SECRET.
UPDATE orders SET invoice_url = split_part(invoice_url, '?', 1) WHERE invoice_url LIKE '%?%signature=%';
UPDATE effects_ledger SET result = result - 'invoiceUrl' WHERE result ? 'invoiceUrl';
