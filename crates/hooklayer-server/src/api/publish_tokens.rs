//! Tokens the publish route has seen lately, so a publish does not read the token table.
//!
//! PERFORMANCE: most apps publish with one token many times a second, and the token lookup
//! was a database round trip before every publish (on SQLite a hop to the reader's thread,
//! on PostgreSQL a network round trip and a server transaction).
//!
//! SECURITY: only the publish route uses this, because there the database itself refuses a
//! deleted app: a token is removed only with its app (SPEC §2), and an event of an app that
//! no longer exists fails the events table's foreign key, which the route answers `401` like
//! an unknown token (and forgets the token). So a remembered token never opens anything the
//! database would not — across processes too. Only tokens the store knew are remembered;
//! an unknown token is looked up every time.

use hooklayer_core::ids::AppId;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a token is remembered after its lookup.
const REMEMBERED_FOR: Duration = Duration::from_secs(300);

/// Most tokens remembered at once; when full, everything is forgotten and refilled.
const MAX_REMEMBERED: usize = 10_000;

/// Token hashes (never tokens) and the app each opens.
#[derive(Default)]
pub struct PublishTokens {
    // CONCURRENCY: a short critical section per publish; never held across an await.
    known: Mutex<HashMap<String, (AppId, Instant)>>,
}

impl PublishTokens {
    /// The app of a token hash looked up within the last [`REMEMBERED_FOR`].
    pub fn app_for(&self, token_hash: &str) -> Option<AppId> {
        self.app_at(token_hash, Instant::now())
    }

    fn app_at(&self, token_hash: &str, now: Instant) -> Option<AppId> {
        let known = self.lock();
        let (app, since) = known.get(token_hash)?;
        (now.saturating_duration_since(*since) < REMEMBERED_FOR).then_some(*app)
    }

    /// Remembers what the store answered for a token hash.
    pub fn remember(&self, token_hash: String, app: AppId) {
        let mut known = self.lock();
        if known.len() >= MAX_REMEMBERED && !known.contains_key(&token_hash) {
            known.clear();
        }
        known.insert(token_hash, (app, Instant::now()));
    }

    /// Forgets a token hash (its app turned out to be gone).
    pub fn forget(&self, token_hash: &str) {
        self.lock().remove(token_hash);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (AppId, Instant)>> {
        // A panic while holding this lock cannot leave the map inconsistent.
        self.known.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_forgets_and_bounds_its_size() {
        let tokens = PublishTokens::default();
        let app = AppId::new();
        assert_eq!(tokens.app_for("a"), None);
        tokens.remember("a".into(), app);
        assert_eq!(tokens.app_for("a"), Some(app));
        tokens.forget("a");
        assert_eq!(tokens.app_for("a"), None);

        for i in 0..MAX_REMEMBERED {
            tokens.remember(format!("t{i}"), app);
        }
        assert_eq!(tokens.app_for("t0"), Some(app));
        tokens.remember("one more".into(), app);
        assert_eq!(tokens.app_for("t0"), None, "a full map starts over");
        assert_eq!(tokens.app_for("one more"), Some(app));
    }

    #[test]
    fn an_old_entry_is_not_used() {
        let tokens = PublishTokens::default();
        let app = AppId::new();
        tokens.remember("a".into(), app);
        let later = Instant::now() + REMEMBERED_FOR + Duration::from_secs(1);
        assert_eq!(tokens.app_at("a", Instant::now()), Some(app));
        assert_eq!(tokens.app_at("a", later), None);
    }
}
