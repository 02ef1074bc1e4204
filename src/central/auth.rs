//! Who may use the station's API: users with a role, each holding a bearer token that the
//! configuration stores only as its SHA-256. Lookups compare every stored hash in constant time.
//!
//! Roles: `central` submits jobs and reads status; `operator` does the print actions;
//! `supervisor` does them too and is the second person a reprint needs; `technician` reads the
//! printer and jobs (diagnostics); `admin` may do everything.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A user's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The central office: submit jobs, read status.
    Central,
    /// A counter operator: print actions.
    Operator,
    /// An operator who may approve a reprint as the second person.
    Supervisor,
    /// Printer diagnostics; reads jobs.
    Technician,
    /// Everything.
    Admin,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 5] = [
        Role::Central,
        Role::Operator,
        Role::Supervisor,
        Role::Technician,
        Role::Admin,
    ];

    /// The configuration word.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Central => "central",
            Role::Operator => "operator",
            Role::Supervisor => "supervisor",
            Role::Technician => "technician",
            Role::Admin => "admin",
        }
    }

    /// Parses the configuration word.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// One API user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Recorded as the actor of what they do.
    pub name: String,
    /// What they may do.
    pub role: Role,
    /// SHA-256 of their token.
    pub token_sha256: [u8; 32],
}

/// A name the station accepts for a user, a job id or a station id: 1-64 of A-Z a-z 0-9 . _ -
/// (safe in paths, headers and logs).
pub fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// SHA-256 of a token.
pub fn hash_token(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Parses 64 hex digits.
pub fn parse_hash(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.trim();
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// 64 lower-case hex digits.
pub fn hex(bytes: &[u8; 32]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new random token (32 bytes, base64url: 43 characters).
pub fn new_token() -> Result<String, String> {
    let mut raw = [0u8; 32];
    getrandom::fill(&mut raw).map_err(|e| format!("no randomness from the system: {e}"))?;
    Ok(B64.encode(raw))
}

/// The user holding `token`, comparing against every user in constant time (the time does not
/// depend on which user, if any, matched).
pub fn find<'a>(users: &'a [User], token: &str) -> Option<&'a User> {
    let presented = hash_token(token);
    let mut found = None;
    for u in users {
        if bool::from(u.token_sha256.ct_eq(&presented)) {
            found = Some(u);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_finds_its_user_and_only_its_user() {
        let users: Vec<User> = ["t1", "t2"]
            .iter()
            .enumerate()
            .map(|(i, t)| User {
                name: format!("u{i}"),
                role: Role::Operator,
                token_sha256: hash_token(t),
            })
            .collect();
        assert_eq!(find(&users, "t2").map(|u| u.name.as_str()), Some("u1"));
        assert!(find(&users, "t3").is_none());
        assert!(find(&users, "").is_none());
        let h = hash_token("t1");
        assert_eq!(parse_hash(&hex(&h)), Some(h));
        assert_eq!(parse_hash("zz"), None);
        assert_eq!(new_token().expect("token").len(), 43);
    }
}
