-- Changing webhooks (SPEC §11) and per-webhook delivery settings (SPEC §12).

-- Secret rotation: the secret being replaced keeps signing until previous_secret_until.
ALTER TABLE webhooks ADD COLUMN previous_secret TEXT;
ALTER TABLE webhooks ADD COLUMN previous_secret_until BIGINT;
-- Delivery settings; NULL / 0 are the defaults.
ALTER TABLE webhooks ADD COLUMN rate_limit BIGINT;          -- attempts started per second
ALTER TABLE webhooks ADD COLUMN max_in_flight BIGINT;       -- NULL: HOOKLAYER_MAX_IN_FLIGHT_PER_WEBHOOK, per process
ALTER TABLE webhooks ADD COLUMN ordered BIGINT NOT NULL DEFAULT 0;
-- 1 when any setting above is not its default: such webhooks are claimed by the shaped claim.
ALTER TABLE webhooks ADD COLUMN shaped BIGINT NOT NULL DEFAULT 0;
-- The rate limit's token bucket, in thousandths of a token, as of rate_at (NULL: full).
ALTER TABLE webhooks ADD COLUMN rate_tokens BIGINT;
ALTER TABLE webhooks ADD COLUMN rate_at BIGINT;
-- The last line position handed out (deliveries.line_seq).
ALTER TABLE webhooks ADD COLUMN line_seq BIGINT NOT NULL DEFAULT 0;
CREATE INDEX webhooks_shaped ON webhooks(id) WHERE shaped = 1;

-- A shaped webhook's deliveries carry their place in its line (acceptance order), and the lease
-- end of the shaped claim that holds them (in flight while next_attempt_at still equals it).
ALTER TABLE deliveries ADD COLUMN line_seq BIGINT;
ALTER TABLE deliveries ADD COLUMN leased_until BIGINT;
CREATE INDEX deliveries_line ON deliveries(webhook_id, line_seq) WHERE status = 'pending' AND line_seq IS NOT NULL;
CREATE INDEX deliveries_leased ON deliveries(webhook_id, leased_until) WHERE status = 'pending' AND leased_until IS NOT NULL;

-- What changed on a webhook and when (key names only, never values).
CREATE TABLE webhook_changes (
    seq        BIGSERIAL PRIMARY KEY,
    webhook_id TEXT COLLATE "C" NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    at         BIGINT NOT NULL,
    keys       TEXT NOT NULL                -- comma-separated
);
CREATE INDEX webhook_changes_webhook ON webhook_changes(webhook_id, seq);
