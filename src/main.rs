//! The `pstation` binary: parses arguments, sets up logging, runs the command, exits with its
//! code. Everything else lives in the library.

use std::process::ExitCode;

use clap::Parser;
use pstation::cli::{self, Cli};

/// mimalloc instead of glibc's allocator: a batch render frees and reallocates megabyte-sized
/// pixel buffers on every core, which glibc returned to the kernel and faulted back in each time
/// (38,000 page faults for 50 pages; BENCHMARKS.md "Performance").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = Cli::parse();
    pstation::logging::init(args.log_format, &args.log_level);
    // Unlocked handles: each write takes the lock briefly, so log lines from other threads
    // (the simulator, diagnostics) are never blocked behind a long-running command.
    let exit = cli::run(args.command, &mut std::io::stdout(), &mut std::io::stderr());
    ExitCode::from(exit.code())
}
