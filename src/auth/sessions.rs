//! Does an access token's account still hold the session the token was issued under? Tokens
//! are self-contained, so without this a deactivated account, or one whose password was reset,
//! would keep working for the token's whole life. Every authenticated request asks; the answer
//! is kept for a few seconds (`auth.session_cache_ms`) so a busy phone does not cost a query
//! per request, and the database stays the truth every instance reads.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What a token is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionState {
    pub active: bool,
    pub version: i32,
}

impl SessionState {
    /// Does a token carrying session version `token_version` still work?
    pub fn admits(&self, token_version: i32) -> bool {
        self.active && self.version == token_version
    }
}

/// Recently read session states by account id.
pub struct SessionCache {
    ttl: Duration,
    entries: Mutex<HashMap<i64, (Instant, SessionState)>>,
}

/// Above this many accounts cached, expired entries are swept on the next insert.
const SWEEP_ABOVE: usize = 50_000;

impl SessionCache {
    /// A zero `ttl` caches nothing: every request reads the database.
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    pub fn get(&self, account_id: i64) -> Option<SessionState> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(&account_id)
            .filter(|(read_at, _)| read_at.elapsed() < self.ttl)
            .map(|(_, state)| *state)
    }

    pub fn put(&self, account_id: i64, state: SessionState) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() > SWEEP_ABOVE {
            let ttl = self.ttl;
            entries.retain(|_, (read_at, _)| read_at.elapsed() < ttl);
        }
        entries.insert(account_id, (Instant::now(), state));
    }

    /// Drops what this instance knows of an account it just changed, so its own next request
    /// reads the change at once (other instances within `ttl`).
    pub fn forget(&self, account_id: i64) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.remove(&account_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_is_served_until_it_expires_or_is_forgotten() {
        let cache = SessionCache::new(Duration::from_secs(60));
        let state = SessionState {
            active: true,
            version: 3,
        };
        cache.put(1, state);
        assert_eq!(cache.get(1), Some(state));
        assert!(state.admits(3) && !state.admits(2));
        cache.forget(1);
        assert_eq!(cache.get(1), None);
        let none = SessionCache::new(Duration::ZERO);
        none.put(1, state);
        assert_eq!(none.get(1), None);
    }
}
