//! `pstation backup FILE` and `pstation restore FILE`: a consistent copy of the store taken
//! while the daemon runs, and putting one back (refused while a daemon holds the data folder);
//! `pstation audit verify`: the event log's hash chain.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Subcommand;

use super::{CmdResult, Exit};
use crate::store::backup::{self, CheckReport};

/// `pstation audit …`.
#[derive(Debug, Subcommand)]
pub enum AuditAction {
    /// Verify the event log's hash chain: any edited, inserted or removed event is named.
    Verify {
        /// Station configuration (for daemon.data_dir).
        #[arg(long, env = "PSTATION_CONFIG")]
        config: Option<PathBuf>,
        /// Data folder (overrides daemon.data_dir).
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// Verify this store file instead (e.g. a backup).
        #[arg(long, value_name = "FILE")]
        file: Option<PathBuf>,
    },
}

/// `pstation backup` arguments.
#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    /// The new backup file.
    file: PathBuf,
    /// Station configuration (for daemon.data_dir).
    #[arg(long, env = "PSTATION_CONFIG")]
    config: Option<PathBuf>,
    /// Data folder (overrides daemon.data_dir).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

/// `pstation restore` arguments.
#[derive(Debug, clap::Args)]
pub struct RestoreArgs {
    /// The backup file.
    file: PathBuf,
    /// Station configuration (for daemon.data_dir).
    #[arg(long, env = "PSTATION_CONFIG")]
    config: Option<PathBuf>,
    /// Data folder (overrides daemon.data_dir).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

/// `pstation audit …`.
pub(super) fn audit(action: AuditAction, out: &mut dyn Write, err: &mut dyn Write) -> CmdResult {
    match action {
        AuditAction::Verify {
            config,
            data_dir,
            file,
        } => audit_verify(config.as_deref(), data_dir, file, out, err),
    }
}

/// Where the data folder is: `--data-dir`, else the configuration's `daemon.data_dir`.
fn data_dir(
    config: Option<&Path>,
    data_dir: Option<PathBuf>,
    err: &mut dyn Write,
) -> std::io::Result<Option<PathBuf>> {
    if let Some(d) = data_dir {
        return Ok(Some(d));
    }
    Ok(super::load_settings(config, err)?.map(|s| s.daemon.data_dir))
}

fn report(out: &mut dyn Write, what: &str, path: &Path, r: &CheckReport) -> std::io::Result<()> {
    writeln!(
        out,
        "{what} {}: schema {}, {} jobs, {} events, {} booklets; checks passed (integrity, event log)",
        path.display(),
        r.schema,
        r.jobs,
        r.events,
        r.booklets
    )
}

/// `pstation backup FILE`.
pub(super) fn backup(a: BackupArgs, out: &mut dyn Write, err: &mut dyn Write) -> CmdResult {
    let (config, data, file) = (a.config.as_deref(), a.data_dir, a.file.as_path());
    let Some(dir) = data_dir(config, data, err)? else {
        return Ok(Exit::InvalidInput);
    };
    let db = dir.join("station.db");
    if !db.exists() {
        writeln!(
            err,
            "{}: no-store: there is no store here — check --data-dir or daemon.data_dir",
            db.display()
        )?;
        return Ok(Exit::InvalidInput);
    }
    if file.exists() {
        writeln!(
            err,
            "{}: exists: the backup file exists; choose a new name (backups are never overwritten)",
            file.display()
        )?;
        return Ok(Exit::InvalidInput);
    }
    match backup::backup(&db, file) {
        Ok(r) => {
            report(out, "backup", file, &r)?;
            Ok(Exit::Ok)
        }
        Err(e) => {
            writeln!(err, "{}: {e}", file.display())?;
            Ok(Exit::CheckFailed)
        }
    }
}

/// `pstation restore FILE`.
pub(super) fn restore(a: RestoreArgs, out: &mut dyn Write, err: &mut dyn Write) -> CmdResult {
    let (config, data, file) = (a.config.as_deref(), a.data_dir, a.file.as_path());
    let Some(dir) = data_dir(config, data, err)? else {
        return Ok(Exit::InvalidInput);
    };
    if let Err(e) = std::fs::create_dir_all(&dir) {
        writeln!(
            err,
            "{}: data-dir: cannot create the data folder: {e}",
            dir.display()
        )?;
        return Ok(Exit::InvalidInput);
    }
    // Held until the restore is done: no daemon can start on a half-restored folder.
    let _lock = match crate::fsio::DataLock::try_acquire(&dir) {
        Ok(Some(lock)) => lock,
        Ok(None) => {
            writeln!(
                err,
                "{}: data-dir-busy: the station daemon is running on this data folder — stop it (systemctl stop pstation) and restore again",
                dir.display()
            )?;
            return Ok(Exit::Unavailable);
        }
        Err(e) => {
            writeln!(err, "{}: data-dir: {e}", dir.display())?;
            return Ok(Exit::InvalidInput);
        }
    };
    match backup::restore_into(file, &dir.join("station.db")) {
        Ok((r, aside)) => {
            report(out, "restored", file, &r)?;
            if let Some(old) = aside {
                writeln!(out, "the store it replaced is kept as {}", old.display())?;
            }
            Ok(Exit::Ok)
        }
        Err(e) => {
            writeln!(err, "{}: {e}", file.display())?;
            Ok(Exit::CheckFailed)
        }
    }
}

/// `pstation audit verify`: recomputes the event log's hash chain (read-only; the daemon may run).
fn audit_verify(
    config: Option<&Path>,
    data_dir: Option<PathBuf>,
    file: Option<PathBuf>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> CmdResult {
    let db = match file {
        Some(f) => f,
        None => match self::data_dir(config, data_dir, err)? {
            Some(d) => d.join("station.db"),
            None => return Ok(Exit::InvalidInput),
        },
    };
    if !db.is_file() {
        writeln!(err, "{}: not-found: no store there", db.display())?;
        return Ok(Exit::InvalidInput);
    }
    match crate::store::audit::verify(&db) {
        Err(e) => {
            writeln!(err, "{}: {e}", db.display())?;
            Ok(Exit::Internal)
        }
        Ok(Err(broken)) => {
            writeln!(out, "PROBLEM  event log {}: {broken}", db.display())?;
            writeln!(
                out,
                "the log was changed outside pstation: keep this file as evidence, and restore the last backup that verifies"
            )?;
            Ok(Exit::CheckFailed)
        }
        Ok(Ok(r)) => {
            writeln!(
                out,
                "OK       event log {}: {} events chained and verified ({} from before the chain), head {}",
                db.display(),
                r.chained,
                r.unchained,
                if r.head.is_empty() { "(none)" } else { &r.head }
            )?;
            Ok(Exit::Ok)
        }
    }
}
