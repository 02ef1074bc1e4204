//! The `pstation` binary: parses arguments, sets up logging, runs the command, exits with its
//! code. Everything else lives in the library.

use std::process::ExitCode;

use clap::Parser;
use pstation::cli::{self, Cli};

fn main() -> ExitCode {
    let args = Cli::parse();
    pstation::logging::init(args.log_format, &args.log_level);
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let exit = cli::run(args.command, &mut stdout.lock(), &mut stderr.lock());
    ExitCode::from(exit.code())
}
