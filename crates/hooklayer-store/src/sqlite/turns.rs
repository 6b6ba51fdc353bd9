//! Turns at the single SQLite writer: an ingest (a publisher waiting for its `202`, and a new
//! event's first attempt behind it) must not queue behind every background write — attempt
//! records, claims, statistics — that a busy worker keeps in line for the writer.
//!
//! Background writes take a turn before they queue for the writer and hold it until they end,
//! so at most one of them is in the writer's line at any time; an ingest queues directly and
//! so waits for at most that one. Background writes keep their order among themselves, and
//! the one ingest task commits one transaction at a time, so neither side starves.

use sqlx::{Sqlite, SqliteConnection, Transaction};
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use tokio::sync::{Mutex, OwnedMutexGuard};

/// The turn background writes take (see the module docs).
#[derive(Clone, Default)]
pub(super) struct WriterTurns {
    background: Arc<Mutex<()>>,
}

impl WriterTurns {
    /// Waits for this background write's turn; held until the transaction ends.
    pub async fn background_turn(&self) -> OwnedMutexGuard<()> {
        self.background.clone().lock_owned().await
    }
}

/// A write transaction and, for a background write, the turn it holds until it commits or
/// is dropped (rolled back).
pub(crate) struct WriteTx {
    tx: Transaction<'static, Sqlite>,
    _turn: Option<OwnedMutexGuard<()>>,
}

impl WriteTx {
    pub(super) fn new(tx: Transaction<'static, Sqlite>, turn: Option<OwnedMutexGuard<()>>) -> Self {
        Self { tx, _turn: turn }
    }

    /// Commits; the turn is given up once the writer is free again.
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }
}

impl Deref for WriteTx {
    type Target = SqliteConnection;
    fn deref(&self) -> &SqliteConnection {
        &self.tx
    }
}

impl DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        &mut self.tx
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::sqlite::SqlitePoolOptions;
    use std::time::Duration;

    /// One background write holds the writer and a second waits for its turn; an ingest that
    /// comes after both still goes before the second.
    #[tokio::test]
    async fn an_ingest_waits_for_at_most_one_background_write() {
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect("sqlite::memory:")
            .await
            .expect("in-memory database");
        let turns = Arc::new(WriterTurns::default());
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));

        let first_turn = turns.background_turn().await;
        let first = writer.begin().await.expect("first write");
        let second = tokio::spawn({
            let (turns, writer, order) = (turns.clone(), writer.clone(), order.clone());
            async move {
                let _turn = turns.background_turn().await;
                let tx = writer.begin().await.expect("second write");
                order.lock().expect("order").push("background");
                tx.commit().await.expect("commit");
            }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let ingest = tokio::spawn({
            let (writer, order) = (writer.clone(), order.clone());
            async move {
                let tx = writer.begin().await.expect("ingest");
                order.lock().expect("order").push("ingest");
                tx.commit().await.expect("commit");
            }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        first.commit().await.expect("commit");
        drop(first_turn);

        for task in [ingest, second] {
            tokio::time::timeout(Duration::from_secs(5), task)
                .await
                .expect("both finish")
                .expect("no panic");
        }
        assert_eq!(*order.lock().expect("order"), ["ingest", "background"]);
    }
}
