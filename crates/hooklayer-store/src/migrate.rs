//! Embedded migrations. Each backend has its own ordered list of SQL files compiled into the
//! binary; a `schema_migrations` table records which have run. A small runner of our own keeps
//! sqlx's macro crate (and its compile time) out of the build.

/// One migration: a version number and the SQL that applies it.
pub struct Migration {
    pub version: i64,
    pub sql: &'static str,
}

// Each version is applied once, in list order, when `schema_migrations` does not hold it yet:
// a database migrated by an older build gets exactly the versions it lacks.

/// The SQLite migrations, in order.
pub const SQLITE: &[Migration] = &[
    Migration {
        version: 1,
        sql: include_str!("../migrations/sqlite/0001_initial.sql"),
    },
    Migration {
        version: 2,
        sql: include_str!("../migrations/sqlite/0002_webhook_changes.sql"),
    },
    Migration {
        version: 3,
        sql: include_str!("../migrations/sqlite/0003_ui_sessions.sql"),
    },
    Migration {
        version: 4,
        sql: include_str!("../migrations/sqlite/0004_delivery_stats.sql"),
    },
    Migration {
        version: 5,
        sql: include_str!("../migrations/sqlite/0005_deliveries_open.sql"),
    },
    Migration {
        version: 6,
        sql: include_str!("../migrations/sqlite/0006_dashboard_rollups.sql"),
    },
];

/// The PostgreSQL migrations, in order.
pub const POSTGRES: &[Migration] = &[
    Migration {
        version: 1,
        sql: include_str!("../migrations/postgres/0001_initial.sql"),
    },
    Migration {
        version: 2,
        sql: include_str!("../migrations/postgres/0002_webhook_changes.sql"),
    },
    Migration {
        version: 3,
        sql: include_str!("../migrations/postgres/0003_ui_sessions.sql"),
    },
    Migration {
        version: 4,
        sql: include_str!("../migrations/postgres/0004_delivery_stats.sql"),
    },
    Migration {
        version: 5,
        sql: include_str!("../migrations/postgres/0005_deliveries_open.sql"),
    },
    Migration {
        version: 6,
        sql: include_str!("../migrations/postgres/0006_dashboard_rollups.sql"),
    },
];

/// The table that records applied versions (same SQL on both backends).
pub const CREATE_TABLE: &str =
    "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)";
