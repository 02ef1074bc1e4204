//! Console sessions: a user logs in with their API token (typed, or scanned from a badge) and
//! gets an opaque session id in an HttpOnly, SameSite=Strict cookie; the session ends at logout
//! or after `api.session_idle_minutes` without a request. Only a SHA-256 of each id is kept, in
//! memory: a restart of the daemon logs everyone out.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use base64::Engine;
use sha2::{Digest, Sha256};
use tokio::time::Instant;

use crate::central::auth::Role;

/// The session cookie's name.
pub const COOKIE: &str = "pstation_session";

/// The most sessions kept at once (a counter has a few users; this bounds memory under abuse).
const MAX_SESSIONS: usize = 256;

/// A logged-in user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionUser {
    /// The user's name (the actor recorded for what they do).
    pub name: String,
    /// Their role.
    pub role: Role,
}

struct Entry {
    user: SessionUser,
    last_seen: Instant,
}

/// Why a session id was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// No such session (never made, logged out, or the daemon restarted).
    Unknown,
    /// It was idle longer than the timeout, and is gone now.
    Expired,
}

/// The live sessions.
pub struct Sessions {
    idle: Duration,
    map: Mutex<HashMap<[u8; 32], Entry>>,
}

fn digest(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

impl Sessions {
    /// No sessions; each ends after `idle` without a request.
    pub fn new(idle: Duration) -> Self {
        Self {
            idle,
            map: Mutex::new(HashMap::new()),
        }
    }

    /// The idle timeout.
    pub fn idle(&self) -> Duration {
        self.idle
    }

    /// Starts a session for `user`; returns its id (43 base64url characters, 256 random bits).
    pub fn start(&self, user: SessionUser) -> Result<String, getrandom::Error> {
        let mut raw = [0u8; 32];
        getrandom::fill(&mut raw)?;
        let id = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
        let now = Instant::now();
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, e| now.duration_since(e.last_seen) <= self.idle);
        if map.len() >= MAX_SESSIONS {
            // The least recently used session goes first.
            if let Some(oldest) = map.iter().min_by_key(|(_, e)| e.last_seen).map(|(k, _)| *k) {
                map.remove(&oldest);
            }
        }
        map.insert(
            digest(&id),
            Entry {
                user,
                last_seen: now,
            },
        );
        Ok(id)
    }

    /// The user of session `id`, which counts as activity; an idle one is ended.
    pub fn touch(&self, id: &str) -> Result<SessionUser, Refused> {
        let key = digest(id);
        let now = Instant::now();
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let Some(entry) = map.get_mut(&key) else {
            return Err(Refused::Unknown);
        };
        if now.duration_since(entry.last_seen) > self.idle {
            map.remove(&key);
            return Err(Refused::Expired);
        }
        entry.last_seen = now;
        Ok(entry.user.clone())
    }

    /// Ends session `id`; returns its user when there was one.
    pub fn end(&self, id: &str) -> Option<SessionUser> {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(&digest(id)).map(|e| e.user)
    }
}

/// The session id in a request's `Cookie` headers, if any.
pub fn cookie_value(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_owned())
}

/// The `Set-Cookie` value for session `id` (`None`: the cookie removed).
pub fn set_cookie(id: Option<&str>) -> String {
    match id {
        Some(id) => format!("{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict"),
        None => format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ani() -> SessionUser {
        SessionUser {
            name: "ani".into(),
            role: Role::Operator,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_session_lives_while_used_and_ends_when_idle_or_logged_out() {
        let s = Sessions::new(Duration::from_secs(15 * 60));
        let id = s.start(ani()).expect("start");
        assert_eq!(id.len(), 43);
        assert_eq!(s.touch(&id), Ok(ani()));
        // Used every 10 minutes, it lives on.
        for _ in 0..5 {
            tokio::time::advance(Duration::from_secs(10 * 60)).await;
            assert_eq!(s.touch(&id), Ok(ani()));
        }
        // 15 minutes and a second without a request: gone for good.
        tokio::time::advance(Duration::from_secs(15 * 60 + 1)).await;
        assert_eq!(s.touch(&id), Err(Refused::Expired));
        assert_eq!(s.touch(&id), Err(Refused::Unknown));
        // Logout ends it at once; an unknown id is refused.
        let id = s.start(ani()).expect("start");
        assert_eq!(s.end(&id), Some(ani()));
        assert_eq!(s.touch(&id), Err(Refused::Unknown));
        assert_eq!(s.touch("not-a-session"), Err(Refused::Unknown));
        assert_eq!(s.end(&id), None);
    }

    #[tokio::test(start_paused = true)]
    async fn sessions_are_bounded_and_the_least_recently_used_goes_first() {
        let s = Sessions::new(Duration::from_secs(3600));
        let first = s.start(ani()).expect("start");
        tokio::time::advance(Duration::from_secs(1)).await;
        let ids: Vec<String> = (0..MAX_SESSIONS)
            .map(|_| s.start(ani()).expect("start"))
            .collect();
        assert_eq!(s.touch(&first), Err(Refused::Unknown));
        assert!(ids.iter().all(|id| s.touch(id).is_ok()));
    }

    #[test]
    fn the_cookie_is_found_among_others_and_set_strictly() {
        let mut h = axum::http::HeaderMap::new();
        h.append(
            axum::http::header::COOKIE,
            "a=1; pstation_session=abc; b=2".parse().expect("header"),
        );
        assert_eq!(cookie_value(&h).as_deref(), Some("abc"));
        assert_eq!(cookie_value(&axum::http::HeaderMap::new()), None);
        let c = set_cookie(Some("abc"));
        assert!(
            c.contains("HttpOnly") && c.contains("SameSite=Strict"),
            "{c}"
        );
        assert!(set_cookie(None).contains("Max-Age=0"));
    }
}
