//! `pstation adapter test -- PROGRAM ARGS`: the conformance kit for printer adapters — runs the
//! protocol's cases against the program and prints each, PASS or FAIL with what was seen; exit
//! 0 only when every case passed.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use clap::Subcommand;

use super::{CmdResult, Exit};
use crate::ops::conformance::{self, Limits};
use crate::station::render::Renderer;

/// `pstation adapter …`.
#[derive(Debug, Subcommand)]
pub enum AdapterCommand {
    /// Run protocol 1's cases against an adapter program (it prints two calibration pages to
    /// whatever printer it drives).
    Test {
        /// Seconds to wait for an answer to hello, identity, status, cancel.
        #[arg(long, default_value_t = 10)]
        answer_timeout_s: u64,
        /// Seconds to wait for a print's outcome.
        #[arg(long, default_value_t = 120)]
        print_timeout_s: u64,
        /// The adapter program.
        program: PathBuf,
        /// Its arguments (after `--`).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

pub(super) fn run(action: AdapterCommand, out: &mut dyn Write, err: &mut dyn Write) -> CmdResult {
    let AdapterCommand::Test {
        answer_timeout_s,
        print_timeout_s,
        program,
        args,
    } = action;
    if !(1..=600).contains(&answer_timeout_s) || !(1..=3600).contains(&print_timeout_s) {
        writeln!(
            err,
            "adapter test: invalid-value: --answer-timeout-s is 1 to 600 and --print-timeout-s 1 to 3600"
        )?;
        return Ok(Exit::InvalidInput);
    }
    let renderer = match crate::config::Settings::default_settings()
        .map_err(|e| e.to_string())
        .and_then(|s| Renderer::new(s).map_err(|e| e.to_string()))
    {
        Ok(r) => r,
        Err(e) => {
            writeln!(err, "adapter test: internal-error: {e}")?;
            return Ok(Exit::Internal);
        }
    };
    let Some(rt) = super::runtime(err)? else {
        return Ok(Exit::Internal);
    };
    let limits = Limits {
        answer: Duration::from_secs(answer_timeout_s),
        print: Duration::from_secs(print_timeout_s),
    };
    writeln!(
        out,
        "adapter protocol {} conformance: {}",
        crate::printer::adapter::protocol::VERSION,
        program.display()
    )?;
    let results = rt.block_on(conformance::run(program, args, &renderer, limits));
    let passed = results.iter().filter(|r| r.passed).count();
    for r in &results {
        writeln!(
            out,
            "{} {:<16} {}",
            if r.passed { "PASS" } else { "FAIL" },
            r.name,
            r.detail
        )?;
    }
    let all = results.len() == 8 && passed == results.len();
    writeln!(out, "{passed} of 8 cases passed")?;
    Ok(if all { Exit::Ok } else { Exit::CheckFailed })
}
