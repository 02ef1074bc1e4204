//! Signed approvals, sans-IO: a JWS in compact serialization (RFC 7515), `alg: EdDSA` (Ed25519,
//! RFC 8037), whose payload is the exact job bytes the central office approved. The protected
//! header carries `kid` (which central key signed) and `exp` (NumericDate, listed in `crit` so a
//! verifier that ignores it must refuse the token).
//!
//! Invariants: the signature is checked over the exact received bytes (never re-serialised
//! JSON); `alg` is pinned to EdDSA (no `none`, no algorithm from the token choosing the key);
//! verification is `verify_strict` (no malleable or small-order keys); every refusal has a
//! stable code and nothing of a refused job is stored.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

/// The most bytes a compact JWS may have (a job is at most `MAX_JOB_BYTES`; base64 adds a third).
pub const MAX_JWS_BYTES: usize = crate::job::MAX_JOB_BYTES * 4 / 3 + 4096;

/// Seconds of clock difference tolerated when checking `exp`.
pub const EXP_LEEWAY_S: i64 = 60;

/// Why a signed job was refused. Each has a stable code (`code()`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, pstation_coded::Coded)]
pub enum SignatureError {
    /// Unsigned, while the station requires signatures.
    #[error(
        "signature-required: this station accepts only jobs signed by the central office (send the JWS with Content-Type: application/jose)"
    )]
    Required,
    /// Not three base64url parts, bad base64, header not JSON, fields missing.
    #[error("signature-malformed: {0}")]
    Malformed(String),
    /// `alg` other than EdDSA, or an unknown critical header.
    #[error("signature-algorithm: {0}")]
    Algorithm(String),
    /// `kid` names no key this station holds.
    #[error(
        "signature-unknown-key: no central office key {0:?} in this station's configuration ([[central.keys]]) — the key may be new: update the configuration"
    )]
    UnknownKey(String),
    /// The signature does not verify: tampered, or signed with another key.
    #[error("signature-invalid: the signature does not match the job bytes for key {0:?}")]
    Invalid(String),
    /// Past its `exp`.
    #[error(
        "signature-expired: the approval expired at {exp} (now {now}); ask the central office to send it again"
    )]
    Expired {
        /// `exp` of the token.
        exp: i64,
        /// The station's clock.
        now: i64,
    },
}

/// The protected header this module writes and accepts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Header {
    alg: String,
    kid: String,
    exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    typ: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    crit: Vec<String>,
}

/// The central office's public keys, by `kid`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Keyring {
    keys: BTreeMap<String, VerifyingKey>,
}

impl Keyring {
    /// Adds a key; a second key with the same id is an error naming it.
    pub fn insert(&mut self, kid: &str, key: VerifyingKey) -> Result<(), String> {
        if self.keys.insert(kid.to_owned(), key).is_some() {
            return Err(format!("two keys have the id {kid:?}"));
        }
        Ok(())
    }

    /// How many keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// No keys at all.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The key ids, sorted.
    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.keys.keys().map(String::as_str)
    }
}

/// A job the central office approved, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    /// The exact job bytes (the JWS payload).
    pub job: Vec<u8>,
    /// Which key signed it.
    pub kid: String,
    /// Its `exp`.
    pub exp: i64,
    /// The JWS with its payload detached (`header..signature`, RFC 7515 Appendix F): kept in
    /// the event log, it re-verifies against the stored job bytes.
    pub detached: String,
}

/// A key id the station accepts: 1-64 of A-Z a-z 0-9 . _ - :.
pub fn valid_kid(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b':'))
}

/// Decodes a base64url public key (the JWK `x` of an Ed25519 key).
pub fn public_key(b64: &str) -> Result<VerifyingKey, String> {
    let bytes = B64
        .decode(b64.trim())
        .map_err(|e| format!("not base64url: {e}"))?;
    let arr: [u8; 32] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| format!("{} bytes, an Ed25519 public key has 32", bytes.len()))?;
    VerifyingKey::from_bytes(&arr).map_err(|_| "not a valid Ed25519 public key".to_owned())
}

/// The base64url form of a public key.
pub fn public_key_b64(key: &VerifyingKey) -> String {
    B64.encode(key.as_bytes())
}

/// Signs `job` (its exact bytes) with `key` as `kid`, valid until `exp` (Unix seconds).
pub fn sign(job: &[u8], key: &SigningKey, kid: &str, exp: i64) -> String {
    let header = Header {
        alg: "EdDSA".into(),
        kid: kid.into(),
        exp,
        typ: Some("pstation-job+jws".into()),
        crit: vec!["exp".into()],
    };
    // Serialising a struct of strings and integers cannot fail.
    let header = serde_json::to_vec(&header).unwrap_or_default();
    let signing_input = format!("{}.{}", B64.encode(header), B64.encode(job));
    let sig = key.sign(signing_input.as_bytes());
    format!("{signing_input}.{}", B64.encode(sig.to_bytes()))
}

/// What a compact JWS claims to be — its key id and the `job_id` in its payload — read without
/// trusting it, for the log line of a refusal (neither is personal). A part that cannot be read,
/// or is not a plain identifier, is `None`.
pub fn claimed(compact: &[u8]) -> (Option<String>, Option<String>) {
    fn plain(s: &str) -> Option<String> {
        (!s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)))
        .then(|| s.to_owned())
    }
    let text = std::str::from_utf8(
        compact
            .get(..MAX_JWS_BYTES.min(compact.len()))
            .unwrap_or(&[]),
    )
    .unwrap_or("");
    let mut parts = text.trim_end_matches(['\r', '\n']).split('.');
    let field = |part: Option<&str>, name: &str| {
        let bytes = B64.decode(part?).ok()?;
        let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
        plain(v.get(name)?.as_str()?)
    };
    let kid = field(parts.next(), "kid");
    let job = field(parts.next(), "job_id");
    (kid, job)
}

/// Verifies a compact JWS against `keys` at time `now` (Unix seconds) and returns the approved
/// job bytes.
pub fn verify(compact: &[u8], keys: &Keyring, now: i64) -> Result<Approval, SignatureError> {
    let malformed = |s: &str| SignatureError::Malformed(s.to_owned());
    if compact.len() > MAX_JWS_BYTES {
        return Err(malformed("larger than any signed job can be"));
    }
    let text = std::str::from_utf8(compact)
        .map_err(|_| malformed("not ASCII text"))?
        .trim_end_matches(['\r', '\n']);
    let mut parts = text.split('.');
    let (Some(h64), Some(p64), Some(s64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed(
            "a compact JWS has three base64url parts separated by '.'",
        ));
    };
    let header = B64
        .decode(h64)
        .map_err(|e| SignatureError::Malformed(format!("header: not base64url: {e}")))?;
    let header: Header = serde_json::from_slice(&header)
        .map_err(|e| SignatureError::Malformed(format!("header: {e} (needs alg, kid and exp)")))?;
    if header.alg != "EdDSA" {
        return Err(SignatureError::Algorithm(format!(
            "alg {:?}; this station accepts only EdDSA (Ed25519)",
            header.alg
        )));
    }
    if let Some(unknown) = header.crit.iter().find(|c| c.as_str() != "exp") {
        return Err(SignatureError::Algorithm(format!(
            "critical header {unknown:?} is not understood"
        )));
    }
    let key = keys
        .keys
        .get(&header.kid)
        .ok_or_else(|| SignatureError::UnknownKey(header.kid.clone()))?;
    let sig = B64
        .decode(s64)
        .map_err(|e| SignatureError::Malformed(format!("signature: not base64url: {e}")))?;
    let sig: [u8; 64] = sig.as_slice().try_into().map_err(|_| {
        SignatureError::Malformed(format!("signature: {} bytes, Ed25519 has 64", sig.len()))
    })?;
    let signing_input = &text[..h64.len() + 1 + p64.len()];
    key.verify_strict(signing_input.as_bytes(), &Signature::from_bytes(&sig))
        .map_err(|_| SignatureError::Invalid(header.kid.clone()))?;
    // Only a verified token's claims are trusted.
    if now > header.exp.saturating_add(EXP_LEEWAY_S) {
        return Err(SignatureError::Expired {
            exp: header.exp,
            now,
        });
    }
    let job = B64
        .decode(p64)
        .map_err(|e| SignatureError::Malformed(format!("payload: not base64url: {e}")))?;
    Ok(Approval {
        job,
        kid: header.kid,
        exp: header.exp,
        detached: format!("{h64}..{s64}"),
    })
}

/// Re-verifies a detached JWS (as kept in the event log) against the stored job bytes,
/// ignoring `exp` (it was checked on arrival).
pub fn verify_detached(detached: &str, job: &[u8], keys: &Keyring) -> Result<(), SignatureError> {
    let Some((h64, s64)) = detached.split_once("..") else {
        return Err(SignatureError::Malformed("not a detached JWS".into()));
    };
    let compact = format!("{h64}.{}.{s64}", B64.encode(job));
    verify(compact.as_bytes(), keys, i64::MIN + EXP_LEEWAY_S + 1).map(|_| ())
}

/// A new Ed25519 key from the operating system's random source.
pub fn generate_key() -> Result<SigningKey, String> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| format!("no randomness from the system: {e}"))?;
    Ok(SigningKey::from_bytes(&seed))
}

/// A private key as a JWK (RFC 8037 `OKP`/`Ed25519`), the file `pstation keys generate`
/// writes and `pstation sign --key` reads.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PrivateJwk {
    /// `OKP`.
    pub kty: String,
    /// `Ed25519`.
    pub crv: String,
    /// The key id the station's configuration will name.
    pub kid: String,
    /// The public key, base64url.
    pub x: String,
    /// The private key (seed), base64url.
    pub d: String,
}

impl PrivateJwk {
    /// The JWK of `key` named `kid`.
    pub fn new(key: &SigningKey, kid: &str) -> Self {
        Self {
            kty: "OKP".into(),
            crv: "Ed25519".into(),
            kid: kid.into(),
            x: public_key_b64(&key.verifying_key()),
            d: B64.encode(key.to_bytes()),
        }
    }

    /// The signing key, checked against its public half.
    pub fn signing_key(&self) -> Result<SigningKey, String> {
        if self.kty != "OKP" || self.crv != "Ed25519" {
            return Err(format!(
                "kty {:?} crv {:?}: expected an OKP Ed25519 key",
                self.kty, self.crv
            ));
        }
        let d = B64
            .decode(self.d.trim())
            .map_err(|e| format!("d: not base64url: {e}"))?;
        let seed: [u8; 32] = d
            .as_slice()
            .try_into()
            .map_err(|_| format!("d: {} bytes, an Ed25519 private key has 32", d.len()))?;
        let key = SigningKey::from_bytes(&seed);
        if public_key_b64(&key.verifying_key()) != self.x.trim() {
            return Err("x does not belong to d (the file is damaged)".into());
        }
        Ok(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> SigningKey {
        SigningKey::from_bytes(&[n; 32])
    }

    fn ring(pairs: &[(&str, &SigningKey)]) -> Keyring {
        let mut r = Keyring::default();
        for (kid, k) in pairs {
            r.insert(kid, k.verifying_key()).expect("unique");
        }
        r
    }

    #[test]
    fn a_signed_job_verifies_and_gives_back_its_exact_bytes() {
        let k = key(1);
        let job = br#"{"job_id": "J1",  "x": 1}"#;
        let jws = sign(job, &k, "co-1", 2_000);
        let a = verify(jws.as_bytes(), &ring(&[("co-1", &k)]), 1_000).expect("valid");
        assert_eq!(a.job, job);
        assert_eq!((a.kid.as_str(), a.exp), ("co-1", 2_000));
        verify_detached(&a.detached, job, &ring(&[("co-1", &k)])).expect("detached");
        assert_eq!(
            verify_detached(&a.detached, b"{}", &ring(&[("co-1", &k)])).map_err(|e| e.code()),
            Err("signature-invalid")
        );
    }

    #[test]
    fn tampered_unknown_key_wrong_key_expired_and_other_algorithms_are_refused() {
        let (k1, k2) = (key(1), key(2));
        let keys = ring(&[("co-1", &k1), ("co-2", &k2)]);
        let jws = sign(b"{\"a\":1}", &k1, "co-1", 2_000);
        let code = |t: &str, now| {
            verify(t.as_bytes(), &keys, now)
                .map(|_| ())
                .map_err(|e| e.code())
        };
        // One payload byte changed.
        let parts: Vec<&str> = jws.split('.').collect();
        let tampered = format!("{}.{}.{}", parts[0], B64.encode(b"{\"a\":2}"), parts[2]);
        assert_eq!(code(&tampered, 1_000), Err("signature-invalid"));
        // Signed by key 2 but claiming key 1.
        let forged = sign(b"{\"a\":1}", &k2, "co-1", 2_000);
        assert_eq!(code(&forged, 1_000), Err("signature-invalid"));
        assert_eq!(
            code(&sign(b"{}", &key(3), "co-9", 2_000), 1_000),
            Err("signature-unknown-key")
        );
        assert_eq!(code(&jws, 2_000 + EXP_LEEWAY_S), Ok(()));
        assert_eq!(code(&jws, 2_001 + EXP_LEEWAY_S), Err("signature-expired"));
        // alg none, HS256: refused before any key is used.
        for alg in ["none", "HS256", "eddsa"] {
            let h = B64.encode(format!(r#"{{"alg":"{alg}","kid":"co-1","exp":2000}}"#));
            let t = format!("{h}.{}.{}", parts[1], parts[2]);
            assert_eq!(code(&t, 1_000), Err("signature-algorithm"), "{alg}");
        }
        let h = B64.encode(r#"{"alg":"EdDSA","kid":"co-1","exp":2000,"crit":["b64"]}"#);
        assert_eq!(
            code(&format!("{h}.{}.{}", parts[1], parts[2]), 1_000),
            Err("signature-algorithm")
        );
        for bad in [
            "",
            "a.b",
            "a.b.c.d",
            "!!.b.c",
            &format!("{}.{}.AAAA", parts[0], parts[1]),
        ] {
            assert_eq!(code(bad, 1_000), Err("signature-malformed"), "{bad}");
        }
    }

    #[test]
    fn a_jwk_round_trips_and_a_damaged_one_is_refused() {
        let k = key(7);
        let jwk = PrivateJwk::new(&k, "co-7");
        assert_eq!(jwk.signing_key().expect("key").to_bytes(), k.to_bytes());
        let mut damaged = jwk.clone();
        damaged.x = public_key_b64(&key(8).verifying_key());
        assert!(damaged.signing_key().is_err());
        assert!(public_key(&jwk.x).is_ok());
        assert!(public_key("AAAA").is_err());
    }
}
