//! `pstation keys generate` and `pstation sign`: the central office's side of signed approvals,
//! for integrators and tests — an Ed25519 key as a JWK file, and a job signed into a compact JWS;
//! `pstation token new`, an API user's token with the configuration line holding its hash; and
//! `pstation keys store-key`, the station's store key (encryption at rest).

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Subcommand;

use super::{CmdResult, Exit};
use crate::central::jws::{self, PrivateJwk};

/// `pstation token …`.
#[derive(Debug, Subcommand)]
pub enum TokenAction {
    /// Make a token for a user.
    New {
        /// The user's name (recorded as the actor of what they do).
        #[arg(long)]
        name: String,
        /// central, operator, supervisor, technician or admin.
        #[arg(long)]
        role: String,
    },
}

/// `pstation keys …`.
#[derive(Debug, Subcommand)]
pub enum KeysAction {
    /// Make a new Ed25519 key pair: the private key as a JWK file (mode 0600) and the line for
    /// the stations' `[central] keys`.
    Generate {
        /// The key id the signatures will carry (e.g. co-2026-1).
        #[arg(long)]
        kid: String,
        /// Where to write the private key (must not exist).
        #[arg(long)]
        out: PathBuf,
    },
    /// Make the station's store key (the personal data in the store is encrypted with it): a
    /// new random key in a file of mode 0600, never replacing one. Keep it outside the data
    /// folder (daemon.key_file) and back it up apart from it.
    StoreKey {
        /// Where to write it (must not exist), e.g. /etc/pstation/store.key.
        #[arg(long)]
        out: PathBuf,
    },
}

/// `pstation sign` arguments.
#[derive(Debug, clap::Args)]
pub struct SignArgs {
    /// The job JSON file (`-` for stdin).
    pub job: PathBuf,
    /// The private key (JWK) from `pstation keys generate`.
    #[arg(long)]
    pub key: PathBuf,
    /// Seconds until the approval expires.
    #[arg(long, default_value_t = 86_400)]
    pub expires_in: u32,
    /// Write the JWS here instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// `pstation keys …`.
pub(super) fn keys(action: KeysAction, out: &mut dyn Write, err: &mut dyn Write) -> CmdResult {
    match action {
        KeysAction::Generate { kid, out: file } => generate(&kid, &file, out, err),
        KeysAction::StoreKey { out: file } => store_key(&file, out, err),
    }
}

/// `pstation token …`.
pub(super) fn token(action: TokenAction, out: &mut dyn Write, err: &mut dyn Write) -> CmdResult {
    match action {
        TokenAction::New { name, role } => new_token(&name, &role, out, err),
    }
}

/// `pstation keys store-key`: writes a new store key (mode 0600, never overwriting).
fn store_key(out_file: &Path, out: &mut dyn Write, err: &mut dyn Write) -> CmdResult {
    match crate::store::StoreKey::generate(out_file) {
        Ok(key) => {
            writeln!(
                out,
                "wrote the store key {} (key id {}): set daemon.key_file to it, keep it outside the data folder and back it up apart from it — a store cannot be read without its key",
                out_file.display(),
                key.id()
            )?;
            Ok(Exit::Ok)
        }
        Err(e) => {
            writeln!(err, "{e}")?;
            Ok(Exit::InvalidInput)
        }
    }
}

/// `pstation keys generate`: writes the private key (mode 0600, never overwriting) and prints the
/// line for the station's `[central] keys`.
fn generate(kid: &str, out_file: &Path, out: &mut dyn Write, err: &mut dyn Write) -> CmdResult {
    if !jws::valid_kid(kid) {
        writeln!(
            err,
            "--kid: invalid-kid: {kid:?} must be 1 to 64 letters, digits or -_.:"
        )?;
        return Ok(Exit::InvalidInput);
    }
    let key = match jws::generate_key() {
        Ok(k) => k,
        Err(e) => {
            writeln!(err, "keys: {e}")?;
            return Ok(Exit::Internal);
        }
    };
    let jwk = PrivateJwk::new(&key, kid);
    let text = serde_json::to_string_pretty(&jwk).unwrap_or_default() + "\n";
    let written = crate::fsio::write_new_private(out_file, text.as_bytes());
    if let Err(e) = written {
        writeln!(
            err,
            "{}: cannot write the key: {e} (an existing file is never overwritten)",
            out_file.display()
        )?;
        return Ok(Exit::InvalidInput);
    }
    writeln!(
        out,
        "wrote the private key {} (keep it at the central office; never on a station)",
        out_file.display()
    )?;
    writeln!(out, "add to each station's configuration, [central] keys:")?;
    writeln!(out, "{{ kid = \"{kid}\", public_key = \"{}\" }}", jwk.x)?;
    Ok(Exit::Ok)
}

/// `pstation sign JOB.json --key KEY.jwk`: the job's exact bytes as a compact JWS.
pub(super) fn sign(
    job: &Path,
    key_file: &Path,
    expires_in_s: u32,
    out_file: Option<PathBuf>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> CmdResult {
    let bytes = match super::read_job_bytes(job) {
        Ok(b) => b,
        Err(problem) => {
            writeln!(err, "{problem}")?;
            return Ok(Exit::InvalidInput);
        }
    };
    let key = std::fs::read(key_file)
        .map_err(|e| format!("cannot read: {e}"))
        .and_then(|b| {
            serde_json::from_slice::<PrivateJwk>(&b).map_err(|e| format!("not a JWK: {e}"))
        })
        .and_then(|jwk| jwk.signing_key().map(|k| (k, jwk.kid)));
    let (key, kid) = match key {
        Ok(k) => k,
        Err(e) => {
            writeln!(err, "{}: key: {e}", key_file.display())?;
            return Ok(Exit::InvalidInput);
        }
    };
    let exp = time::OffsetDateTime::now_utc().unix_timestamp() + i64::from(expires_in_s);
    let compact = jws::sign(&bytes, &key, &kid, exp);
    match out_file {
        Some(p) => {
            if let Err(e) = crate::fsio::write_atomic(&p, compact.as_bytes()) {
                writeln!(err, "{}: cannot write: {e}", p.display())?;
                return Ok(Exit::Unavailable);
            }
        }
        None => writeln!(out, "{compact}")?,
    }
    Ok(Exit::Ok)
}

/// `pstation token new --name NAME --role ROLE`.
fn new_token(name: &str, role: &str, out: &mut dyn Write, err: &mut dyn Write) -> CmdResult {
    use crate::central::auth;
    if !auth::valid_name(name) {
        writeln!(
            err,
            "--name: invalid-name: {name:?} must be 1-64 of A-Z a-z 0-9 . _ -"
        )?;
        return Ok(Exit::InvalidInput);
    }
    let Some(role) = auth::Role::parse(role) else {
        writeln!(
            err,
            "--role: invalid-role: {role:?}: central, operator, supervisor, technician or admin"
        )?;
        return Ok(Exit::InvalidInput);
    };
    let token = match auth::new_token() {
        Ok(t) => t,
        Err(e) => {
            writeln!(err, "token: {e}")?;
            return Ok(Exit::Internal);
        }
    };
    writeln!(
        out,
        "token (give it to {name}; it is not shown again): {token}"
    )?;
    writeln!(out, "add to the station's configuration, [api] users:")?;
    writeln!(
        out,
        "{{ name = \"{name}\", role = \"{}\", token_sha256 = \"{}\" }}",
        role.as_str(),
        auth::hex(&auth::hash_token(&token))
    )?;
    Ok(Exit::Ok)
}
