-- hooklayer schema, SQLite. Times are Unix milliseconds; ids are hyphenated UUID text.
CREATE TABLE apps (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE tokens (
    hash       TEXT PRIMARY KEY,           -- SHA-256 of the token, hex
    app_id     TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL
);
CREATE INDEX tokens_app ON tokens(app_id);

CREATE TABLE webhooks (
    id            TEXT PRIMARY KEY,
    app_id        TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    version       TEXT NOT NULL,
    target_url    TEXT NOT NULL,
    events        TEXT NOT NULL,            -- comma-separated event types
    secret        TEXT NOT NULL,
    config        TEXT NOT NULL,            -- compact JSON object
    status        TEXT NOT NULL,
    status_reason TEXT,
    created_at    INTEGER NOT NULL,
    verify_after  INTEGER                   -- when an unverified webhook may be (re)claimed for verification
);
CREATE INDEX webhooks_app ON webhooks(app_id, created_at, id);
CREATE INDEX webhooks_unverified ON webhooks(verify_after) WHERE status = 'unverified';

CREATE TABLE events (
    app_id      TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    id          TEXT NOT NULL,
    type        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    ingested_at INTEGER NOT NULL,
    payload     TEXT NOT NULL,              -- rendered body prefix
    deliveries  INTEGER NOT NULL,           -- fan-out at ingest, for idempotent answers
    PRIMARY KEY (app_id, id)
);
CREATE INDEX events_ingested ON events(ingested_at);

CREATE TABLE deliveries (
    request_id      TEXT PRIMARY KEY,
    app_id          TEXT NOT NULL,
    webhook_id      TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event_id        TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    status          TEXT NOT NULL,          -- pending | succeeded | failed
    created_at      INTEGER NOT NULL,
    next_attempt_at INTEGER,                -- due time, or lease end while claimed; NULL when finished
    attempts_made   INTEGER NOT NULL DEFAULT 0,
    finished_at     INTEGER
);
CREATE INDEX deliveries_due ON deliveries(next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_log ON deliveries(webhook_id, created_at, request_id);
CREATE INDEX deliveries_finished ON deliveries(finished_at) WHERE status <> 'pending';
CREATE INDEX deliveries_event ON deliveries(app_id, event_id);

CREATE TABLE attempts (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id    TEXT NOT NULL REFERENCES deliveries(request_id) ON DELETE CASCADE,
    at            INTEGER NOT NULL,
    duration_ms   INTEGER NOT NULL,
    status_code   INTEGER,
    error         TEXT,
    response_body TEXT
);
CREATE INDEX attempts_delivery ON attempts(request_id, seq);
