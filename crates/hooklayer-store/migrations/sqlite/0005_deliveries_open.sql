-- The deliveries that are not (yet) delivered, by webhook: pending and failed ones, a small
-- part of the log. The dashboard counts them per webhook on every list page; without this
-- index each count walks the webhook's whole log. Succeeded deliveries leave the index.
CREATE INDEX deliveries_open ON deliveries(webhook_id, status) WHERE status <> 'succeeded';
