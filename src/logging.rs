//! Log set-up: `tracing` to stderr, human-readable or JSON lines, filtered by `PSTATION_LOG`
//! (or `RUST_LOG`) or the `--log-level` flag.
//!
//! Invariant: nothing here or in any caller logs personal data (names, dates of birth,
//! passport numbers, portraits); job ids and stable codes are what identify a job in logs.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines (coloured on a terminal).
    Human,
    /// One JSON object per line, for journald or log shipping.
    Json,
}

/// Installs the global subscriber. `level` is a filter directive such as `warn` or
/// `pstation=debug`; the environment variables `PSTATION_LOG`, then `RUST_LOG`, win over it.
pub fn init(format: LogFormat, level: &str) {
    let filter = std::env::var("PSTATION_LOG")
        .ok()
        .or_else(|| std::env::var("RUST_LOG").ok())
        .and_then(|s| EnvFilter::try_new(s).ok())
        .or_else(|| EnvFilter::try_new(level).ok())
        .unwrap_or_else(|| EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second initialisation (tests) is harmless; ignore its error.
    let _ = match format {
        LogFormat::Human => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
