//! Encryption at rest of the personal data in the store: the store key (a file outside the data
//! folder), and the sealing of each job's submitted bytes (names, dates, numbers, portrait) with
//! ChaCha20-Poly1305 (`ring`), bound to the job's id.
//!
//! A sealed payload is `PSE1` (4 bytes), a random 96-bit nonce and the ciphertext with its
//! 16-byte tag; the job id is the associated data, so a payload moved to another job's row does
//! not open. The key file is one line, `pstation-store-key v1 <43 base64url characters>`, mode
//! 0600; its id (the first 16 hex digits of a SHA-256 over it) is recorded in the store, so a
//! wrong key is named as such at start, not found later as a failed print.

use std::path::{Path, PathBuf};

use base64::Engine;
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use sha2::{Digest, Sha256};

/// What every sealed payload starts with.
pub const MAGIC: &[u8; 4] = b"PSE1";

/// The key file's first word and format version.
const HEADER: &str = "pstation-store-key v1";

/// Why the store key could not be loaded or made. Each has a stable code (`KeyError::code`) and
/// says what to do.
#[derive(Debug, thiserror::Error, pstation_coded::Coded)]
pub enum KeyError {
    /// No file at the configured path.
    #[error(
        "store-key-missing: {path}: no store key there (daemon.key_file) — the personal data in the store is encrypted with it: restore the file from the station's key backup; for a new station make one with `pstation keys store-key --out {path}`"
    )]
    Missing {
        /// The configured path.
        path: PathBuf,
    },
    /// The file exists but cannot be read.
    #[error(
        "store-key-unreadable: {path}: {source} — the daemon's user must be able to read it (owner, mode 0600)"
    )]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a store key.
    #[error(
        "store-key-invalid: {path}: {why} — this is not a pstation store key; restore the file from the station's key backup"
    )]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong with it (never its content).
        why: String,
    },
    /// Others than its owner may read the file.
    #[error(
        "store-key-permissions: {path}: mode {mode:o} lets others read the key — run `chmod 600 {path}`"
    )]
    Permissions {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A new key could not be written (an existing file is never replaced).
    #[error(
        "store-key-write: {path}: cannot write a new key: {source} (an existing file is never replaced)"
    )]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The key file is inside the data folder (a copy of it would carry its own key).
    #[error(
        "store-key-inside-data-dir: {path} is inside the data folder {data_dir}: move the key outside it (e.g. /etc/pstation/store.key) and set daemon.key_file, so a copy of the data folder does not carry its key"
    )]
    InsideDataDir {
        /// The key file.
        path: PathBuf,
        /// The data folder.
        data_dir: PathBuf,
    },
    /// The system's random source failed.
    #[error("store-key-random: the system's random source failed: {0}")]
    Random(String),
}

/// The key the store's personal data is sealed with.
#[derive(Clone)]
pub struct StoreKey {
    key: [u8; 32],
    id: String,
}

impl std::fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreKey").field("id", &self.id).finish()
    }
}

/// A sealed payload that does not open: the key is not the one it was sealed with, or the bytes
/// were changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unsealable;

impl StoreKey {
    /// A key from its 32 bytes.
    pub fn from_bytes(key: [u8; 32]) -> Self {
        let mut h = Sha256::new();
        h.update(b"pstation store key id\0");
        h.update(key);
        let digest = h.finalize();
        let id = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        Self { key, id }
    }

    /// A new random key.
    pub fn random() -> Result<Self, KeyError> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| KeyError::Random(e.to_string()))?;
        Ok(Self::from_bytes(key))
    }

    /// The key's id: 16 hex digits, safe to show and to record (it reveals nothing of the key).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Loads the key file at `path`, refusing one that others may read.
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        let text = match std::fs::read(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(KeyError::Missing {
                    path: path.to_owned(),
                });
            }
            Err(source) => {
                return Err(KeyError::Unreadable {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path)
                .map_err(|source| KeyError::Unreadable {
                    path: path.to_owned(),
                    source,
                })?
                .permissions()
                .mode()
                & 0o777;
            if mode & 0o077 != 0 {
                return Err(KeyError::Permissions {
                    path: path.to_owned(),
                    mode,
                });
            }
        }
        let invalid = |why: &str| KeyError::Invalid {
            path: path.to_owned(),
            why: why.to_owned(),
        };
        let text = std::str::from_utf8(&text).map_err(|_| invalid("it is not text"))?;
        let line = text.trim_end_matches(['\n', '\r']);
        let Some(encoded) = line.strip_prefix(HEADER).and_then(|r| r.strip_prefix(' ')) else {
            return Err(invalid(&format!("it does not start with {HEADER:?}")));
        };
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(encoded)
            .map_err(|_| invalid("the key is not base64url"))?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| invalid("the key is not 32 bytes"))?;
        Ok(Self::from_bytes(key))
    }

    /// Writes a new random key to `path` (mode 0600, never replacing a file) and returns it.
    pub fn generate(path: &Path) -> Result<Self, KeyError> {
        let key = Self::random()?;
        let text = format!(
            "{HEADER} {}\n",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key.key)
        );
        let written = crate::fsio::write_new_private(path, text.as_bytes());
        written.map_err(|source| KeyError::Write {
            path: path.to_owned(),
            source,
        })?;
        Ok(key)
    }

    fn aead(&self) -> LessSafeKey {
        // A 32-byte key is exactly what ChaCha20-Poly1305 takes: `new` cannot fail.
        LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, &self.key).expect("32-byte key"))
    }

    /// Seals `plain` as the payload of job `job_id`.
    pub fn seal(&self, job_id: &str, plain: &[u8]) -> Result<Vec<u8>, KeyError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|e| KeyError::Random(e.to_string()))?;
        let mut out = Vec::with_capacity(MAGIC.len() + NONCE_LEN + plain.len() + 16);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&nonce);
        let mut body = plain.to_vec();
        self.aead()
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(job_id.as_bytes()),
                &mut body,
            )
            // Sealing fails only for inputs over 256 GiB; jobs are limited far below.
            .map_err(|_| KeyError::Random("the payload is too large to seal".to_owned()))?;
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// Opens the payload `sealed` of job `job_id`.
    pub fn open(&self, job_id: &str, sealed: &[u8]) -> Result<Vec<u8>, Unsealable> {
        let rest = sealed.strip_prefix(MAGIC.as_slice()).ok_or(Unsealable)?;
        if rest.len() < NONCE_LEN + 16 {
            return Err(Unsealable);
        }
        let (nonce, body) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| Unsealable)?;
        let mut body = body.to_vec();
        let plain_len = self
            .aead()
            .open_in_place(nonce, Aad::from(job_id.as_bytes()), &mut body)
            .map_err(|_| Unsealable)?
            .len();
        body.truncate(plain_len);
        Ok(body)
    }
}

/// Refuses a key file inside the data folder, links resolved (the configuration check is only
/// by name). A key file that does not exist yet is left to `StoreKey::load` to name.
pub fn check_outside(key_file: &Path, data_dir: &Path) -> Result<(), KeyError> {
    let (Ok(key), Ok(data)) = (
        std::fs::canonicalize(key_file),
        std::fs::canonicalize(data_dir),
    ) else {
        return Ok(());
    };
    if key.starts_with(&data) {
        return Err(KeyError::InsideDataDir {
            path: key_file.to_owned(),
            data_dir: data_dir.to_owned(),
        });
    }
    Ok(())
}

/// Whether `blob` is a sealed payload (rather than the plain bytes a store before schema 7 kept).
pub fn is_sealed(blob: &[u8]) -> bool {
    blob.starts_with(MAGIC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_opens_only_with_its_key_and_its_job_id() {
        let key = StoreKey::random().expect("key");
        let sealed = key
            .seal("J1", b"{\"surname\":\"SETIAWATI\"}")
            .expect("seal");
        assert!(is_sealed(&sealed));
        assert!(
            !sealed.windows(9).any(|w| w == b"SETIAWATI"),
            "the plain text must not show"
        );
        assert_eq!(
            key.open("J1", &sealed).expect("open"),
            b"{\"surname\":\"SETIAWATI\"}"
        );
        // Two seals of the same bytes differ (fresh nonce).
        assert_ne!(
            key.seal("J1", b"x").expect("seal"),
            key.seal("J1", b"x").expect("seal")
        );
        // Another job's row, another key, a flipped bit, a truncation: none opens.
        assert_eq!(key.open("J2", &sealed), Err(Unsealable));
        let other = StoreKey::random().expect("key");
        assert_ne!(other.id(), key.id());
        assert_eq!(other.open("J1", &sealed), Err(Unsealable));
        for i in [0, 5, 20, sealed.len() - 1] {
            let mut bad = sealed.clone();
            bad[i] ^= 1;
            assert_eq!(key.open("J1", &bad), Err(Unsealable), "byte {i}");
        }
        assert_eq!(key.open("J1", &sealed[..20]), Err(Unsealable));
        assert_eq!(key.open("J1", b"{plain}"), Err(Unsealable));
    }

    #[test]
    fn the_key_file_is_made_private_reloads_and_bad_files_are_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("store.key");
        let key = StoreKey::generate(&path).expect("generate");
        let again = StoreKey::load(&path).expect("load");
        assert_eq!(again.id(), key.id());
        assert_eq!(again.key, key.key);
        assert!(format!("{again:?}").contains(key.id()));
        assert!(!format!("{again:?}").contains("key:"));
        // Never replaced.
        assert_eq!(
            StoreKey::generate(&path).expect_err("exists").code(),
            "store-key-write"
        );
        assert_eq!(
            StoreKey::load(&dir.path().join("nope"))
                .expect_err("missing")
                .code(),
            "store-key-missing"
        );
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let e = StoreKey::load(&path).expect_err("readable by others");
        assert_eq!(e.code(), "store-key-permissions");
        assert!(e.to_string().contains("chmod 600"), "{e}");
        let write = |text: &str| {
            let p = dir.path().join("bad.key");
            std::fs::write(&p, text).expect("write");
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).expect("chmod");
            StoreKey::load(&p).expect_err("bad").to_string()
        };
        assert!(write("hello").contains("does not start with"));
        assert!(write("pstation-store-key v1 !!!").contains("not base64url"));
        assert!(write("pstation-store-key v1 AAAA").contains("not 32 bytes"));
    }
}
