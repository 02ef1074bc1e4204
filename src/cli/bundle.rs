//! `pstation support-bundle OUT.tar.gz`: what second-line support needs to see, and nothing
//! personal — doctor's report, versions, the configuration with secrets removed, the store's
//! counts, recent events and attempts, the printer's identity and status history, and the running
//! daemon's health.
//!
//! What goes in is `ops::bundle`'s (which keeps the invariant: nothing personal); this file
//! adds doctor's report as printed and writes the archive.

use std::io::Write;
use std::path::PathBuf;

use serde_json::json;

use super::{CmdResult, Exit};
use crate::config::Settings;
use crate::ops::bundle::{self, pretty, probe_printer, store_files, tarball, versions};

/// `pstation support-bundle` arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct BundleArgs {
    /// The .tar.gz to write (must not exist).
    pub out: PathBuf,
    /// Station configuration (TOML); the embedded default when absent.
    #[arg(long, env = "PSTATION_CONFIG")]
    pub config: Option<PathBuf>,
    /// Data folder (overrides daemon.data_dir).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Printer device URI (overrides daemon.device).
    #[arg(long, value_name = "URI")]
    pub device: Option<String>,
}

pub(super) fn run(args: BundleArgs, out: &mut dyn Write, err: &mut dyn Write) -> CmdResult {
    if args.out.exists() {
        writeln!(
            err,
            "file-exists: {} exists — choose a new name (a bundle never overwrites a file)",
            args.out.display()
        )?;
        return Ok(Exit::InvalidInput);
    }
    let stamp = crate::store::now();
    let root = format!("pstation-support-{}", stamp.replace(':', ""));
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();

    // Doctor's report, exactly as a technician would see it.
    let mut report = Vec::new();
    let mut report_err = Vec::new();
    let code = super::doctor::run(
        super::doctor::DoctorArgs {
            config: args.config.clone(),
            data_dir: args.data_dir.clone(),
            device: args.device.clone(),
        },
        &mut report,
        &mut report_err,
    )?;
    report.extend_from_slice(&report_err);
    writeln!(report, "exit status {}", code.code())?;
    files.push(("doctor.txt".into(), report));

    files.push(("versions.txt".into(), versions().into_bytes()));

    // The configuration, secrets removed.
    files.push((
        "config.toml".into(),
        bundle::config_file(args.config.as_deref()),
    ));

    // The store, read-only (a running daemon keeps writing beside us).
    let mut settings = Settings::load_or_default(args.config.as_deref()).ok();
    let mut sink = Vec::new();
    if let Some(s) = settings.as_mut()
        && !super::apply_overrides(s, args.data_dir.clone(), args.device.as_deref(), &mut sink)?
    {
        settings = None;
    }
    let data = settings
        .as_ref()
        .map(|s| s.daemon.data_dir.clone())
        .or(args.data_dir.clone());
    if let Some(data) = &data {
        let offset = settings
            .as_ref()
            .map_or(time::UtcOffset::UTC, |s| s.utc_offset);
        files.extend(store_files(&data.join("station.db"), offset));
        // The running daemon's view, if one holds the folder.
        if let Some(url) = crate::fsio::announced_url(data)
            && matches!(crate::fsio::DataLock::try_acquire(data), Ok(None))
        {
            for (name, path) in [
                ("daemon-health.json", "/api/health"),
                ("printer.json", "/api/printer"),
            ] {
                let v = super::client::get_json(&url, path).unwrap_or_else(|e| json!({"error": e}));
                files.push((name.into(), pretty(&v)));
            }
        }
    }
    if !files.iter().any(|(n, _)| n == "printer.json")
        && let Some(s) = &settings
    {
        files.push(("printer.json".into(), pretty(&probe_printer(s))));
    }

    let bytes = match tarball(&root, &files) {
        Ok(b) => b,
        Err(e) => {
            writeln!(err, "bundle: cannot build the archive: {e}")?;
            return Ok(Exit::Internal);
        }
    };
    if let Err(e) = crate::fsio::write_atomic(&args.out, &bytes) {
        writeln!(err, "bundle: cannot write {}: {e}", args.out.display())?;
        return Ok(Exit::Unavailable);
    }
    writeln!(
        out,
        "wrote {} ({} files, {} bytes): no personal data — send it to support",
        args.out.display(),
        files.len(),
        bytes.len()
    )?;
    Ok(Exit::Ok)
}
