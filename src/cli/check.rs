//! The offline job and configuration checks: `pstation mrz`, `pstation validate` and
//! `pstation config` (no daemon, no store).

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Subcommand;

use super::{CmdResult, Exit, load_job, load_settings, mrz_problem, parse_date, truncation_note};
use crate::config::DEFAULT_TOML;
use crate::job::ValidateOptions;
use crate::mrz;

/// `pstation mrz` arguments.
#[derive(Debug, clap::Args)]
pub struct MrzArgs {
    /// The job JSON file (`-` for stdin).
    #[arg(required_unless_present = "check", conflicts_with = "check")]
    job: Option<PathBuf>,
    /// Check two MRZ lines instead: exit 0 when valid, 1 naming each failed check.
    #[arg(long, num_args = 2, value_names = ["LINE1", "LINE2"])]
    check: Option<Vec<String>>,
    /// Station configuration (TOML); the embedded default when absent.
    #[arg(long, env = "PSTATION_CONFIG")]
    config: Option<PathBuf>,
}

/// `pstation validate` arguments.
#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// The job JSON file (`-` for stdin).
    job: PathBuf,
    /// Also apply the station's issuance policy.
    #[arg(long)]
    policy: bool,
    /// Station configuration (TOML); the embedded default when absent.
    #[arg(long, env = "PSTATION_CONFIG")]
    config: Option<PathBuf>,
    /// Judge the policy as on this date (YYYY-MM-DD) instead of today.
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    today: Option<time::Date>,
}

/// `pstation config …`.
#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Print the embedded default configuration, with comments.
    Default,
    /// Check a configuration file and report every problem.
    Check {
        /// The TOML file (`-` for standard input).
        file: PathBuf,
    },
}

/// `pstation mrz`.
pub(super) fn mrz(a: MrzArgs, out: &mut dyn Write, err: &mut dyn Write) -> CmdResult {
    match (a.check, a.job) {
        (Some(lines), _) => mrz_check(&lines, out, err),
        (None, Some(job)) => mrz_of_job(&job, a.config.as_deref(), out, err),
        (None, None) => {
            writeln!(
                err,
                "usage: pstation mrz JOB.json | pstation mrz --check LINE1 LINE2"
            )?;
            Ok(Exit::InvalidInput)
        }
    }
}

/// `pstation validate`.
pub(super) fn validate(a: ValidateArgs, out: &mut dyn Write, err: &mut dyn Write) -> CmdResult {
    validate_job(&a.job, a.policy, a.config.as_deref(), a.today, out, err)
}

fn mrz_of_job(
    path: &Path,
    config: Option<&Path>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> CmdResult {
    let Some(settings) = load_settings(config, err)? else {
        return Ok(Exit::InvalidInput);
    };
    let opts = ValidateOptions {
        require_portrait: false,
    };
    let Some(job) = load_job(path, &opts, err)? else {
        return Ok(Exit::InvalidInput);
    };
    match mrz::generate(&job.td3_input(), &settings.mrz) {
        Ok(td3) => {
            tracing::debug!(job_id = %job.job_id, truncated = td3.name_truncated, "MRZ generated and verified");
            writeln!(out, "{}", td3.line1)?;
            writeln!(out, "{}", td3.line2)?;
            if td3.possibly_truncated {
                writeln!(err, "note: {}", truncation_note(&job, td3.name_truncated))?;
            }
            Ok(Exit::Ok)
        }
        Err(e) => match mrz_problem(&e) {
            Some(p) => {
                writeln!(err, "{p}")?;
                Ok(Exit::InvalidInput)
            }
            None => {
                tracing::error!(job_id = %job.job_id, error = %e, "MRZ self-check failed");
                writeln!(err, "$: internal-error: {e}")?;
                Ok(Exit::Internal)
            }
        },
    }
}

fn mrz_check(lines: &[String], out: &mut dyn Write, err: &mut dyn Write) -> CmdResult {
    let [l1, l2] = lines else {
        writeln!(err, "usage: pstation mrz --check LINE1 LINE2")?;
        return Ok(Exit::InvalidInput);
    };
    let report = mrz::check(l1, l2);
    for note in &report.notes {
        writeln!(err, "note: {note}")?;
    }
    if report.is_valid() {
        writeln!(out, "valid")?;
        Ok(Exit::Ok)
    } else {
        for f in &report.failures {
            writeln!(err, "{f}")?;
        }
        Ok(Exit::CheckFailed)
    }
}

/// Validates the job at `path` against ICAO rules, and the station policy with `policy`,
/// judged on `today`.
fn validate_job(
    path: &Path,
    policy: bool,
    config: Option<&Path>,
    today: Option<time::Date>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> CmdResult {
    let Some(settings) = load_settings(config, err)? else {
        return Ok(Exit::InvalidInput);
    };
    let today = today.unwrap_or_else(|| crate::today_at(settings.utc_offset));
    let opts = ValidateOptions {
        require_portrait: true,
    };
    let Some(job) = load_job(path, &opts, err)? else {
        return Ok(Exit::InvalidInput);
    };
    let mut problems = Vec::new();
    if policy {
        problems.extend(settings.policy.check(&job, today));
    }
    let mut truncated = None;
    match mrz::generate(&job.td3_input(), &settings.mrz) {
        Ok(td3) => truncated = td3.possibly_truncated.then_some(td3.name_truncated),
        Err(e) => match mrz_problem(&e) {
            Some(p) => problems.push(p),
            None => {
                tracing::error!(job_id = %job.job_id, error = %e, "MRZ self-check failed");
                writeln!(err, "$: internal-error: {e}")?;
                return Ok(Exit::Internal);
            }
        },
    }
    if !problems.is_empty() {
        for p in &problems {
            writeln!(err, "{p}")?;
        }
        return Ok(Exit::InvalidInput);
    }
    if let Some(truncated) = truncated {
        writeln!(err, "note: {}", truncation_note(&job, truncated))?;
    }
    let scope = if policy {
        "ICAO and station policy"
    } else {
        "ICAO"
    };
    writeln!(out, "valid: {} ({scope})", job.job_id)?;
    Ok(Exit::Ok)
}

/// `pstation config`.
pub(super) fn config(action: ConfigAction, out: &mut dyn Write, err: &mut dyn Write) -> CmdResult {
    match action {
        ConfigAction::Default => {
            out.write_all(DEFAULT_TOML.as_bytes())?;
            Ok(Exit::Ok)
        }
        ConfigAction::Check { file } => match load_settings(Some(&file), err)? {
            Some(_) => {
                let name = if file.as_os_str() == "-" {
                    "(standard input)".into()
                } else {
                    file.display().to_string()
                };
                writeln!(out, "valid: {name}")?;
                Ok(Exit::Ok)
            }
            None => Ok(Exit::InvalidInput),
        },
    }
}
