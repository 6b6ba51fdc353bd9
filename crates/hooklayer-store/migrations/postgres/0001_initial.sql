-- hooklayer schema, PostgreSQL. The same tables, columns and meaning as the SQLite schema:
-- times are Unix milliseconds (BIGINT); ids are hyphenated UUID text; every number is BIGINT so
-- both backends decode rows the same way.
-- Ids use the "C" collation: byte order, as in SQLite, whatever the database's locale, so the
-- delivery log pages in the same order on both backends (and comparisons are cheaper).

CREATE TABLE apps (
    id         TEXT COLLATE "C" PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE tokens (
    hash       TEXT COLLATE "C" PRIMARY KEY,    -- SHA-256 of the token, hex
    app_id     TEXT COLLATE "C" NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL
);
CREATE INDEX tokens_app ON tokens(app_id);

CREATE TABLE webhooks (
    id            TEXT COLLATE "C" PRIMARY KEY,
    app_id        TEXT COLLATE "C" NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    version       TEXT NOT NULL,
    target_url    TEXT NOT NULL,
    events        TEXT NOT NULL,                -- comma-separated event types
    secret        TEXT NOT NULL,
    config        TEXT NOT NULL,                -- compact JSON object, kept verbatim
    status        TEXT NOT NULL,
    status_reason TEXT,
    created_at    BIGINT NOT NULL,
    verify_after  BIGINT                        -- when an unverified webhook may be (re)claimed for verification
);
CREATE INDEX webhooks_app ON webhooks(app_id, created_at, id);
CREATE INDEX webhooks_unverified ON webhooks(verify_after) WHERE status = 'unverified';

CREATE TABLE events (
    app_id      TEXT COLLATE "C" NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    id          TEXT COLLATE "C" NOT NULL,
    type        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    ingested_at BIGINT NOT NULL,
    payload     TEXT NOT NULL,                  -- rendered body prefix
    deliveries  BIGINT NOT NULL,                -- fan-out at ingest, for idempotent answers
    PRIMARY KEY (app_id, id)
);
CREATE INDEX events_ingested ON events(ingested_at);

CREATE TABLE deliveries (
    request_id      TEXT COLLATE "C" PRIMARY KEY,
    app_id          TEXT COLLATE "C" NOT NULL,
    webhook_id      TEXT COLLATE "C" NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event_id        TEXT COLLATE "C" NOT NULL,
    event_type      TEXT NOT NULL,
    status          TEXT NOT NULL,              -- pending | succeeded | failed
    created_at      BIGINT NOT NULL,
    next_attempt_at BIGINT,                     -- due time, or lease end while claimed; NULL when finished
    attempts_made   BIGINT NOT NULL DEFAULT 0,
    finished_at     BIGINT
);
CREATE INDEX deliveries_due ON deliveries(next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_log ON deliveries(webhook_id, created_at, request_id);
CREATE INDEX deliveries_finished ON deliveries(finished_at) WHERE status <> 'pending';
CREATE INDEX deliveries_event ON deliveries(app_id, event_id);
-- The queue grows and drains fast; the claim's plan (walk deliveries_due in order) needs
-- fresh statistics, so analyze after 2% of the rows change instead of the default 10%.
ALTER TABLE deliveries SET (autovacuum_analyze_scale_factor = 0.02, autovacuum_vacuum_scale_factor = 0.05);

CREATE TABLE attempts (
    seq           BIGSERIAL PRIMARY KEY,
    request_id    TEXT COLLATE "C" NOT NULL REFERENCES deliveries(request_id) ON DELETE CASCADE,
    at            BIGINT NOT NULL,
    duration_ms   BIGINT NOT NULL,
    status_code   BIGINT,
    error         TEXT,
    response_body TEXT
);
CREATE INDEX attempts_delivery ON attempts(request_id, seq);
