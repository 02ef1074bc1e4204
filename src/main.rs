//! The `pstation` binary: parses arguments, sets up logging, runs the command, exits with its
//! code. Everything else lives in the library.

use std::process::ExitCode;

use clap::Parser;
use pstation::cli::{self, Cli};

fn main() -> ExitCode {
    let args = Cli::parse();
    pstation::logging::init(args.log_format, &args.log_level);
    // Unlocked handles: each write takes the lock briefly, so log lines from other threads
    // (the simulator, diagnostics) are never blocked behind a long-running command.
    let exit = cli::run(args.command, &mut std::io::stdout(), &mut std::io::stderr());
    ExitCode::from(exit.code())
}
