-- Dashboard sessions (SPEC §13). The cookie carries a random session id; only its SHA-256 is
-- stored, so the table alone cannot be used to sign in. app_id NULL = an admin session.
-- Deleting an app deletes its sessions (ON DELETE CASCADE): the session ends with the app.
CREATE TABLE ui_sessions (
    id_hash    TEXT PRIMARY KEY,
    app_id     TEXT REFERENCES apps(id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX ui_sessions_expires ON ui_sessions(expires_at);
CREATE INDEX ui_sessions_app ON ui_sessions(app_id);
