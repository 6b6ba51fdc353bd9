//! Several write statements sent to the connection as one request.
//!
//! PERFORMANCE: sqlx runs each SQLite connection on its own thread and every call is a round
//! trip to it: a channel send, a wake-up of that thread, and another to bring the answer back.
//! At moderate load those context switches, not SQLite, are most of what a delivery costs
//! (docs/BENCHMARKS.md). sqlx runs every statement of one query text in order, binding the
//! positional (`?`) arguments across them, so statements whose results are not needed (no
//! `RETURNING`, no row count) are joined into one script and cost one round trip.
//!
//! Use only `?` placeholders: a numbered one (`?3`) would count from the script's first
//! argument, not its statement's.

use crate::StoreResult;
use sqlx::sqlite::SqliteArguments;
use sqlx::{Arguments, Encode, Sqlite, SqliteConnection, Type};

/// Statements and their arguments, run together by [`Script::run`].
#[derive(Default)]
pub(super) struct Script<'q> {
    sql: String,
    args: SqliteArguments<'q>,
    /// The first argument that could not be encoded; reported by [`Script::run`].
    encode_error: Option<sqlx::error::BoxDynError>,
}

impl<'q> Script<'q> {
    /// Appends a statement; its arguments follow with [`Script::bind`].
    pub fn statement(&mut self, sql: &str) -> &mut Self {
        self.sql.push_str(sql);
        self.sql.push_str(";\n");
        self
    }

    /// Binds the next `?` of the script.
    pub fn bind<T>(&mut self, value: T) -> &mut Self
    where
        T: Encode<'q, Sqlite> + Type<Sqlite> + 'q,
    {
        if let Err(e) = self.args.add(value) {
            self.encode_error.get_or_insert(e);
        }
        self
    }

    /// Runs every statement in order on `conn` (within the caller's transaction); the first
    /// failure stops the script and is returned.
    pub async fn run(self, conn: &mut SqliteConnection) -> StoreResult<()> {
        self.run_returning(conn).await.map(drop)
    }

    /// [`Script::run`], returning the first column, as text, of every row the statements
    /// return (their `RETURNING`), in order.
    pub async fn run_returning(self, conn: &mut SqliteConnection) -> StoreResult<Vec<String>> {
        if let Some(e) = self.encode_error {
            return Err(sqlx::Error::Encode(e).into());
        }
        if self.sql.is_empty() {
            return Ok(Vec::new());
        }
        // A short script (one event's ingest, a lone outcome) recurs and stays prepared; a
        // long one's text changes with its batch's shape (rows per statement, which
        // statements), and kept prepared such scripts would fill the statement cache with
        // large, rarely reused entries (measured: +36 MiB peak RSS in the fan-out benchmark).
        let keep = self.sql.len() <= KEEP_PREPARED_UP_TO;
        let returned = sqlx::query_scalar_with::<_, String, _>(&self.sql, self.args)
            .persistent(keep)
            .fetch_all(conn)
            .await?;
        Ok(returned)
    }
}

/// Longest script text kept prepared (see [`Script::run_returning`]).
const KEEP_PREPARED_UP_TO: usize = 4096;

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::Connection;

    #[tokio::test]
    async fn runs_every_statement_with_its_own_arguments() {
        let mut conn = SqliteConnection::connect("sqlite::memory:")
            .await
            .expect("in-memory database");
        sqlx::query("CREATE TABLE t (k TEXT PRIMARY KEY, n INTEGER)")
            .execute(&mut conn)
            .await
            .expect("table");
        let mut script = Script::default();
        script
            .statement("INSERT INTO t (k, n) VALUES (?, ?), (?, ?)")
            .bind("a")
            .bind(1_i64)
            .bind("b")
            .bind(2_i64);
        script
            .statement("UPDATE t SET n = n + ? WHERE k = ?")
            .bind(10_i64)
            .bind("b");
        script
            .statement("INSERT INTO t (k, n) VALUES (?, ?)")
            .bind("c")
            .bind(3_i64);
        script.run(&mut conn).await.expect("script");

        let rows: Vec<(String, i64)> = sqlx::query_as("SELECT k, n FROM t ORDER BY k")
            .fetch_all(&mut conn)
            .await
            .expect("rows");
        assert_eq!(
            rows,
            vec![("a".into(), 1), ("b".into(), 12), ("c".into(), 3)]
        );
    }

    #[tokio::test]
    async fn a_failing_statement_stops_the_script_with_its_error() {
        let mut conn = SqliteConnection::connect("sqlite::memory:")
            .await
            .expect("in-memory database");
        sqlx::query("CREATE TABLE t (k TEXT PRIMARY KEY)")
            .execute(&mut conn)
            .await
            .expect("table");
        let mut script = Script::default();
        script.statement("INSERT INTO t (k) VALUES (?)").bind("a");
        script.statement("INSERT INTO t (k) VALUES (?)").bind("a");
        script.statement("INSERT INTO t (k) VALUES (?)").bind("b");
        assert!(script.run(&mut conn).await.is_err());

        let keys: Vec<String> = sqlx::query_scalar("SELECT k FROM t ORDER BY k")
            .fetch_all(&mut conn)
            .await
            .expect("rows");
        assert_eq!(keys, vec!["a".to_owned()], "nothing after the failure ran");
    }
}
