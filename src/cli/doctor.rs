//! `pstation doctor`: prints the station's self-check (`ops::doctor`) — configuration, API
//! users, TLS files, central office keys and links, data folder, store and its key, clock and
//! printer — one line per check with OK, WARNING (does not stop printing) or PROBLEM and what
//! to do. Exit 0 only when the station can print.

use std::io::Write;
use std::path::PathBuf;

use super::{CmdResult, Exit};
use crate::config::Settings;
use crate::ops::doctor::{self, Check};

/// `pstation doctor` arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct DoctorArgs {
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

pub(super) fn run(args: DoctorArgs, out: &mut dyn Write, err: &mut dyn Write) -> CmdResult {
    let mut settings = match Settings::load_or_default(args.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            writeln!(out, "PROBLEM  config: {e}")?;
            writeln!(out, "the station cannot start: fix the configuration first")?;
            return Ok(Exit::CheckFailed);
        }
    };
    let config = Check::ok(
        "config",
        match &args.config {
            Some(p) => format!("{} is valid", p.display()),
            None => "the embedded default".to_owned(),
        },
    );
    if !super::apply_overrides(&mut settings, args.data_dir, args.device.as_deref(), err)? {
        return Ok(Exit::InvalidInput);
    }
    let report = doctor::run(&settings, config);
    for c in &report.checks {
        match &c.problem {
            None => writeln!(out, "OK       {}: {}", c.name, c.detail)?,
            Some(p) if c.warning => writeln!(out, "WARNING  {}: {p}", c.name)?,
            Some(p) => writeln!(out, "PROBLEM  {}: {p}", c.name)?,
        }
    }
    if report.failed() {
        writeln!(
            out,
            "the station cannot print until every PROBLEM above is fixed"
        )?;
        Ok(Exit::CheckFailed)
    } else {
        writeln!(out, "the station can print")?;
        Ok(Exit::Ok)
    }
}
