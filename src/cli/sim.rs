//! `pstation sim`: the simulated passport printer on a PTY (prints the slave path; `--link`
//! makes a symlink) and/or TCP (`--listen 127.0.0.1:0` prints the bound port). Faults chosen at
//! start with `--fault`, and at run time by typing control words on stdin (`cover-open`,
//! `clear`, `jam@page2`, `refill=10`, `link-drop`, ...).

use std::io::Write;
use std::path::PathBuf;

use pstation_pjl::sim::SimConfig;
use pstation_sim::{Printer, SimOptions, no_control, parse_control, serve};
use tokio::io::AsyncBufReadExt;
use tokio::sync::mpsc;

use super::{CmdResult, Exit};

/// `pstation sim` arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct SimArgs {
    /// Listen on TCP (e.g. 127.0.0.1:0; the bound port is printed).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Serve on a pseudo-terminal (the default when --listen is absent); prints its path.
    /// Each host connection gets a fresh PTY (like a USB adapter re-enumerating): the
    /// printed path serves one connection; use --link for a name that lasts.
    #[arg(long)]
    pub pty: bool,
    /// Keep a symlink at PATH pointing at the current pseudo-terminal.
    #[arg(long, value_name = "PATH")]
    pub link: Option<PathBuf>,
    /// Pace reads at this baud rate (8N1); 0 = no pacing.
    #[arg(long, default_value_t = 115_200)]
    pub baud: u32,
    /// Write a PNG per printed page and jobs.jsonl here.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// A control word applied at start, e.g. cover-open or jam@page1 (repeatable; the
    /// words are listed below).
    #[arg(long = "fault", value_name = "FAULT")]
    pub faults: Vec<String>,
    /// Blank booklets in the hopper.
    #[arg(long, default_value_t = 50)]
    pub hopper: u32,
    /// Time to personalise one booklet, in ms.
    #[arg(long, default_value_t = 8_000)]
    pub page_ms: u64,
    /// Warm-up after power-on, in ms.
    #[arg(long, default_value_t = 3_000)]
    pub warm_up_ms: u64,
}

pub(super) fn run(args: SimArgs, out: &mut dyn Write, err: &mut dyn Write) -> CmdResult {
    let mut start_faults = Vec::new();
    for f in &args.faults {
        match parse_control(f) {
            Some(c) => start_faults.push(c),
            None => {
                writeln!(
                    err,
                    "--fault: unknown-fault: {f:?} is not a control word; the words are: {}",
                    pstation_sim::control_words()
                )?;
                return Ok(Exit::InvalidInput);
            }
        }
    }
    if let Some(dir) = &args.out
        && let Err(e) = std::fs::create_dir_all(dir)
    {
        writeln!(
            err,
            "{}: io: cannot create the output folder: {e}",
            dir.display()
        )?;
        return Ok(Exit::InvalidInput);
    }
    let Some(runtime) = super::runtime(err)? else {
        return Ok(Exit::Internal);
    };
    let opts = SimOptions {
        printer: SimConfig {
            model: "PSTATION SIMULATED PASSPORT PRINTER".to_owned(),
            warm_up_ms: args.warm_up_ms,
            page_ms: args.page_ms,
            hopper: args.hopper,
            page_count: 0,
            io_timeout_ms: 15_000,
        },
        baud: args.baud,
        out_dir: args.out.clone(),
    };
    runtime.block_on(async move {
        let printer = Printer::new(opts);
        for c in &start_faults {
            let _ = printer.control(c).await;
        }
        let mut tasks = Vec::new();
        if let Some(addr) = &args.listen {
            let listener = match tokio::net::TcpListener::bind(addr).await {
                Ok(l) => l,
                Err(e) => {
                    writeln!(err, "--listen: device-busy: cannot listen on {addr}: {e}")?;
                    return Ok(Exit::InvalidInput);
                }
            };
            let bound = listener.local_addr()?;
            writeln!(out, "listening {bound}")?;
            out.flush()?;
            let p = printer.clone();
            tasks.push(tokio::spawn(async move {
                while let Ok((sock, peer)) = listener.accept().await {
                    tracing::info!(%peer, "simulator: host connected");
                    let _ = sock.set_nodelay(true);
                    // Each TCP client is its own I/O channel of the printer.
                    let p = p.clone();
                    tokio::spawn(async move {
                        if let Err(e) = serve(p, sock, no_control()).await {
                            tracing::info!(error = %e, "simulator: connection ended");
                        }
                    });
                }
            }));
        }
        if args.pty || args.listen.is_none() {
            let (p, link) = (printer.clone(), args.link.clone());
            let (ready_tx, mut ready_rx) = mpsc::channel::<String>(4);
            tasks.push(tokio::spawn(async move {
                if let Err(e) = pstation_sim::serve_pty(p, link, ready_tx).await {
                    tracing::error!(error = %e, "simulator: cannot open a PTY");
                }
            }));
            if let Some(path) = ready_rx.recv().await {
                writeln!(out, "pty {path}")?;
                out.flush()?;
            }
            tokio::spawn(async move { while ready_rx.recv().await.is_some() {} });
        }
        // Control words on stdin.
        let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
        let mut interrupted = false;
        loop {
            tokio::select! {
                line = lines.next_line() => {
                    let Ok(Some(line)) = line else { break };
                    if line.trim().is_empty() {
                        continue;
                    }
                    match parse_control(&line) {
                        Some(c) => {
                            // Applied to the one printer; a link drop reaches every host.
                            printer.control(&c).await;
                            writeln!(out, "ok {}", line.trim())?;
                        }
                        None => writeln!(
                            err,
                            "control: unknown-command: {:?} is not a control word; the words are: {} (`pstation sim --help` says what each does)",
                            line.trim(),
                            pstation_sim::control_words()
                        )?,
                    }
                    out.flush()?;
                }
                _ = tokio::signal::ctrl_c() => {
                    interrupted = true;
                    break;
                }
            }
        }
        // When stdin closes (not on Ctrl-C), keep serving until interrupted.
        if !interrupted {
            let _ = tokio::signal::ctrl_c().await;
        }
        for t in tasks {
            t.abort();
        }
        Ok(Exit::Ok)
    })
}
