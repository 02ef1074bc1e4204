//! `pstation diag`: technician diagnostics — list ports, probe a printer, watch its status,
//! print the calibration page with a confirmed outcome, and the raw console of families that
//! have one (PJL). Every printer family works here through the neutral seam; every failure
//! prints a stable code and what to try.

use std::io::Write;
use std::time::Duration;

use clap::Subcommand;

use super::{CmdResult, Exit};
use crate::layout::build::Layout;
use crate::layout::fonts::Fonts;
use crate::layout::pdf::render_pdf;
use crate::layout::raster::render_page;
use crate::layout::template::Template;
use crate::printer::{
    DeviceUri, DriverSettings, Link, PrintJob, PrintOutcome, PrinterDriver, PrinterState,
    PrinterStatus,
};

/// `pstation diag …`: each takes the printer as a device URI.
#[derive(Debug, Subcommand)]
pub enum DiagCommand {
    /// List serial ports (with USB VID/PID/serial number) and USB printer-class nodes.
    Ports,
    /// Model, firmware configuration, page count and status of a printer.
    Probe {
        /// Device URI (serial://..., usblp://..., tcp://..., ipp://..., adapter://...).
        #[arg(long)]
        device: String,
    },
    /// The printer's status now, or on every change with --watch.
    Status {
        /// Device URI.
        #[arg(long)]
        device: String,
        /// Keep watching until interrupted.
        #[arg(long)]
        watch: bool,
    },
    /// Print the calibration page; exit 0 only when the printer confirms it came out.
    TestPage {
        /// Device URI.
        #[arg(long)]
        device: String,
    },
    /// The family's raw console (PJL): one command per line on stdin, the replies on stdout.
    Console {
        /// Device URI.
        #[arg(long)]
        device: String,
    },
    /// A document reader's raw reads: the bytes as they come (control bytes named), each
    /// document decoded from them, and what was garbled; until --count reads or --seconds.
    Reader {
        /// The reader's device URI (serial:///dev/NODE?baud=9600&framing=plain|cute|rte).
        #[arg(long)]
        device: String,
        /// Stop after this many reads (documents or garbled bytes).
        #[arg(long)]
        count: Option<u32>,
        /// Stop after this many seconds.
        #[arg(long)]
        seconds: Option<u64>,
    },
    /// The chip reader: PC/SC readers, the card on it; with --job, the station's whole chip
    /// check (exit 0 genuine and this job's, 1 failed with its code, 4 no reader or no card).
    Chip(super::diag_chip::ChipArgs),
    /// Serial loopback test (TX wired to RX): data integrity and throughput.
    Loopback {
        /// Device URI.
        #[arg(long)]
        device: String,
        /// How many bytes to send.
        #[arg(long, default_value_t = 65_536)]
        bytes: usize,
    },
}

/// Opens the printer, or says why not: a bad URI is invalid input (exit 2), a device that
/// cannot be opened is a device failure (exit 4).
async fn connect(
    uri: &str,
    err: &mut dyn Write,
) -> std::io::Result<Result<Box<dyn PrinterDriver>, Exit>> {
    let Some(uri) = parse(uri, err)? else {
        return Ok(Err(Exit::InvalidInput));
    };
    match crate::printer::open(&uri, &DriverSettings::DEFAULT).await {
        Ok(p) => Ok(Ok(p)),
        Err(e) => {
            writeln!(err, "{e}")?;
            Ok(Err(Exit::Device))
        }
    }
}

/// The `--device` URI, checked by its family; `None` after saying what is wrong.
fn parse(uri: &str, err: &mut dyn Write) -> std::io::Result<Option<DeviceUri>> {
    match crate::printer::parse_uri(uri) {
        Ok(u) => Ok(Some(u)),
        Err(e) => {
            writeln!(err, "--device: {e}")?;
            Ok(None)
        }
    }
}

/// The printer's status as a technician reads it: the state and what it means, each reason in
/// words with its keyword, the panel text, the device codes and the link, then what to do.
fn show_status(out: &mut dyn Write, s: &PrinterStatus) -> std::io::Result<()> {
    let state = match (s.state, s.link) {
        (_, Link::Lost) => "not connected",
        _ if s.settling() => "busy, it will be ready by itself",
        (PrinterState::Idle, _) => "ready",
        (PrinterState::Processing, _) => "printing",
        (PrinterState::Stopped, _) => "stopped",
    };
    writeln!(out, "printer {state}")?;
    if !s.reasons.is_empty() {
        writeln!(
            out,
            "  conditions: {}",
            crate::printer::reasons::describe_with_keywords(&s.reasons)
        )?;
    }
    let codes = &s.codes;
    writeln!(
        out,
        "  panel: {}; device codes: {}; link: {}",
        s.display
            .as_deref()
            .map_or("(none)".to_owned(), |d| format!("\"{d}\"")),
        if codes.is_empty() {
            "(none)".to_owned()
        } else {
            codes.join(", ")
        },
        if s.link == Link::Up { "up" } else { "lost" }
    )?;
    for r in &s.reasons {
        if let Some((id, en)) = crate::printer::reasons::words(r).advice {
            writeln!(out, "  what to do: {en} / {id}")?;
        }
    }
    Ok(())
}

/// How long diagnostics wait for a printer that is warming up (or testing itself, resetting)
/// before they give up: a print queue waits too, but not for ever.
const SETTLE_LIMIT: Duration = Duration::from_secs(180);

pub(super) fn run(action: DiagCommand, out: &mut dyn Write, err: &mut dyn Write) -> CmdResult {
    if let DiagCommand::Ports = action {
        match tokio_serial::available_ports() {
            Ok(ports) => {
                for p in ports {
                    match p.port_type {
                        tokio_serial::SerialPortType::UsbPort(u) => writeln!(
                            out,
                            "serial://{}  usb {:04x}:{:04x} serial {} ({} {})",
                            p.port_name,
                            u.vid,
                            u.pid,
                            u.serial_number.as_deref().unwrap_or("-"),
                            u.manufacturer.as_deref().unwrap_or(""),
                            u.product.as_deref().unwrap_or("")
                        )?,
                        other => writeln!(out, "serial://{}  {other:?}", p.port_name)?,
                    }
                }
            }
            Err(e) => writeln!(err, "ports: device-io: cannot list serial ports: {e}")?,
        }
        if let Ok(entries) = std::fs::read_dir("/dev/usb") {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.starts_with("lp") {
                    writeln!(out, "usblp:///dev/usb/{name}  USB printer class")?;
                }
            }
        }
        writeln!(
            out,
            "(pseudo-terminals, e.g. the simulator's, are never listed: use their path)"
        )?;
        return Ok(Exit::Ok);
    }
    if let DiagCommand::Chip(args) = action {
        // Blocking calls only (PC/SC, the vpcd port): no runtime.
        return super::diag_chip::run(args, out, err);
    }
    let Some(rt) = super::runtime(err)? else {
        return Ok(Exit::Internal);
    };
    rt.block_on(async move {
        match action {
            // Handled above.
            DiagCommand::Chip(_) => Ok(Exit::Internal),
            DiagCommand::Ports => Ok(Exit::Ok),
            DiagCommand::Reader {
                device,
                count,
                seconds,
            } => reader(&device, count, seconds, out, err).await,
            DiagCommand::Loopback { device: uri, bytes } => {
                let Some(uri) = parse(&uri, err)? else {
                    return Ok(Exit::InvalidInput);
                };
                match crate::printer::loopback(&uri, bytes).await {
                    Ok(rate) => {
                        writeln!(out, "loopback ok: {bytes} bytes intact, {rate:.0} bytes/s")?;
                        Ok(Exit::Ok)
                    }
                    Err(e) => {
                        writeln!(err, "{e}")?;
                        Ok(Exit::Device)
                    }
                }
            }
            DiagCommand::Probe { device: uri } => {
                let mut p = match connect(&uri, err).await? {
                    Ok(p) => p,
                    Err(exit) => return Ok(exit),
                };
                writeln!(out, "family {}", p.family())?;
                match p.identity().await {
                    Ok(id) => {
                        writeln!(out, "model {}", id.model)?;
                        writeln!(out, "page count {}", id.page_count.map_or("unknown".to_owned(), |n| n.to_string()))?;
                        for line in id.config {
                            writeln!(out, "config {line}")?;
                        }
                    }
                    Err(e) => {
                        writeln!(err, "{e}")?;
                        return Ok(Exit::Device);
                    }
                }
                match p.status().await {
                    Ok(s) => show_status(out, &s)?,
                    Err(e) => {
                        writeln!(err, "{e}")?;
                        return Ok(Exit::Device);
                    }
                }
                Ok(Exit::Ok)
            }
            DiagCommand::Status { device: uri, watch } => {
                let mut p = match connect(&uri, err).await? {
                    Ok(p) => p,
                    Err(exit) => return Ok(exit),
                };
                let mut last = None;
                loop {
                    match p.status().await {
                        Ok(s) => {
                            if last.as_ref() != Some(&s) {
                                show_status(out, &s)?;
                                out.flush()?;
                                last = Some(s);
                            }
                        }
                        Err(e) => {
                            writeln!(err, "{e}")?;
                            return Ok(Exit::Device);
                        }
                    }
                    if !watch {
                        return Ok(Exit::Ok);
                    }
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_secs(1)) => {}
                        _ = tokio::signal::ctrl_c() => return Ok(Exit::Ok),
                    }
                }
            }
            DiagCommand::TestPage { device: uri } => {
                let fonts = match Fonts::shared() {
                    Ok(f) => f,
                    Err(e) => {
                        writeln!(err, "$: internal-error: {e}")?;
                        return Ok(Exit::Internal);
                    }
                };
                let Ok(template) = Template::default_template(&fonts) else {
                    writeln!(err, "$: internal-error: the shipped template is invalid")?;
                    return Ok(Exit::Internal);
                };
                let settings = match crate::config::Settings::default_settings() {
                    Ok(s) => s,
                    Err(e) => {
                        writeln!(err, "$: internal-error: {e}")?;
                        return Ok(Exit::Internal);
                    }
                };
                let layout = Layout {
                    template: &template,
                    fonts: &fonts,
                    limits: settings.render.limits,
                    calibration: settings.render.calibration,
                };
                let pdf = render_pdf(&layout.calibration_page(), &fonts, "calibration");
                let mut p = match connect(&uri, err).await? {
                    Ok(p) => p,
                    Err(exit) => return Ok(exit),
                };
                // A bitmap at the printer's resolution, for a family that prints bitmaps.
                let dpi = p.capabilities().bitmap_dpi();
                let pages = match dpi.map(|dpi| render_page(&pdf, dpi)) {
                    None => Vec::new(),
                    Some(Ok(r)) => vec![r.mono()],
                    Some(Err(e)) => {
                        writeln!(err, "$: internal-error: {e}")?;
                        return Ok(Exit::Internal);
                    }
                };
                // A printer warming up is waited for (with a line now and then), as a print
                // queue would; a fault is reported at once by `print`.
                let mut shown = None;
                let waited =
                    pstation_printer_api::wait_while_settling(p.as_mut(), SETTLE_LIMIT, |s, waited| {
                        let secs = waited.as_secs();
                        if shown.is_none_or(|last| secs >= last + 5) {
                            shown = Some(secs);
                            let _ = writeln!(
                                out,
                                "waiting: {} ({secs} s of at most {} s)",
                                crate::printer::reasons::describe(&s.reasons),
                                SETTLE_LIMIT.as_secs()
                            );
                            let _ = out.flush();
                        }
                    })
                    .await;
                match waited {
                    Ok(s) if s.settling() => {
                        writeln!(
                            err,
                            "test-page: not-started: {} — still, after {} s: switch the printer off and on, or call service (nothing was sent)",
                            s.why_not_ready(),
                            SETTLE_LIMIT.as_secs()
                        )?;
                        return Ok(Exit::Device);
                    }
                    Ok(_) => {}
                    Err(e) => {
                        writeln!(err, "{e}")?;
                        return Ok(Exit::Device);
                    }
                }
                let name = format!("TEST-PAGE-{}", std::process::id());
                // Ctrl-C cancels the test page as far as the printer allows.
                let cancel = tokio_util::sync::CancellationToken::new();
                let on_interrupt = cancel.clone();
                let watcher = tokio::spawn(async move {
                    if tokio::signal::ctrl_c().await.is_ok() {
                        on_interrupt.cancel();
                    }
                });
                let job = PrintJob {
                    name: &name,
                    job_id: "",
                    booklet: "",
                    pdf: &pdf,
                    pages: &pages,
                    dpi: dpi.unwrap_or(0),
                };
                // Sheets are reported as the printer delivers them.
                let (sheets, mut delivered) = tokio::sync::mpsc::unbounded_channel();
                let print = p.print(job, &cancel, Box::new(move |n| {
                    let _ = sheets.send(n);
                }));
                tokio::pin!(print);
                let outcome = loop {
                    tokio::select! {
                        o = &mut print => break o,
                        Some(n) = delivered.recv() => {
                            writeln!(out, "sheet {n} delivered")?;
                            out.flush()?;
                        }
                    }
                };
                while let Ok(n) = delivered.try_recv() {
                    writeln!(out, "sheet {n} delivered")?;
                }
                watcher.abort();
                match outcome {
                    PrintOutcome::Confirmed { pages } => {
                        writeln!(out, "completed: {pages} page(s) confirmed by the printer")?;
                        Ok(Exit::Ok)
                    }
                    PrintOutcome::FailedBeforeStart { reason } => {
                        writeln!(err, "test-page: not-started: {reason} — fix the printer and try again (nothing was sent)")?;
                        Ok(Exit::Device)
                    }
                    PrintOutcome::Unknown { reason } => {
                        writeln!(err, "test-page: outcome-unknown: {reason} — look at the printer before trying again")?;
                        Ok(Exit::Device)
                    }
                    PrintOutcome::CanceledByHost => {
                        writeln!(err, "test-page: canceled: stopped here before a sheet came out")?;
                        Ok(Exit::Device)
                    }
                    PrintOutcome::CanceledAtDevice => {
                        writeln!(err, "test-page: canceled: cancelled at the printer's panel — look at the printer")?;
                        Ok(Exit::Device)
                    }
                }
            }
            DiagCommand::Console { device: uri } => {
                use tokio::io::AsyncBufReadExt;
                let mut p = match connect(&uri, err).await? {
                    Ok(p) => p,
                    Err(exit) => return Ok(exit),
                };
                let Some(console) = p.console() else {
                    writeln!(
                        err,
                        "console: no-console: printers of the {} family have no raw command console — use `pstation diag status` and `pstation diag test-page`",
                        p.family()
                    )?;
                    return Ok(Exit::InvalidInput);
                };
                let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    if line.trim().is_empty() {
                        continue;
                    }
                    // The printer's answer exactly as it sent it, to compare with its manual.
                    match console.command(&line).await {
                        Ok(answer) => {
                            for line in answer {
                                writeln!(out, "{line}")?;
                            }
                        }
                        Err(e) => writeln!(err, "{e}")?,
                    }
                    out.flush()?;
                }
                Ok(Exit::Ok)
            }
        }
    })
}

/// `diag reader`: the reader's link with its raw bytes shown.
async fn reader(
    device: &str,
    count: Option<u32>,
    seconds: Option<u64>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> CmdResult {
    use crate::reader::link::{self, LinkState, ReaderMsg};
    let uri = match crate::reader::ReaderUri::parse(device) {
        Ok(u) => u,
        Err(e) => {
            writeln!(err, "--device: config-value: {e}")?;
            return Ok(Exit::InvalidInput);
        }
    };
    writeln!(out, "reader {}", uri.name())?;
    let stop = tokio_util::sync::CancellationToken::new();
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    let task = tokio::spawn(link::run(
        uri,
        std::time::Duration::from_millis(150),
        true,
        tx,
        stop.clone(),
    ));
    let deadline = seconds.map(|s| tokio::time::Instant::now() + std::time::Duration::from_secs(s));
    let (mut reads, mut connected, mut last_down) = (0u32, false, None);
    let exit = loop {
        let msg = match deadline {
            Some(d) => match tokio::time::timeout_at(d, rx.recv()).await {
                Ok(m) => m,
                Err(_) => break None,
            },
            None => tokio::select! {
                m = rx.recv() => m,
                _ = tokio::signal::ctrl_c() => break None,
            },
        };
        let Some(msg) = msg else { break None };
        match msg {
            ReaderMsg::State(LinkState::Connecting) => {}
            ReaderMsg::State(LinkState::Connected) => {
                connected = true;
                writeln!(out, "reader connected")?;
            }
            ReaderMsg::State(LinkState::Down { code, message }) => {
                if last_down.as_deref() != Some(code) {
                    writeln!(out, "reader down {code}: {message}")?;
                }
                last_down = Some(code.to_owned());
            }
            ReaderMsg::Raw(bytes) => writeln!(out, "raw {}", shown(&bytes))?,
            ReaderMsg::Event { event, .. } => {
                reads += 1;
                match event {
                    crate::reader::Event::Document(doc) => {
                        writeln!(
                            out,
                            "document: {} line(s), {} unreadable{}",
                            doc.lines.len(),
                            doc.unreadable(),
                            doc.flag
                                .map(|f| format!(", flag {}", shown(&[f])))
                                .unwrap_or_default()
                        )?;
                        for line in &doc.lines {
                            writeln!(out, "  {line}")?;
                        }
                    }
                    crate::reader::Event::Garbled(g) => {
                        writeln!(out, "garbled {}: {g}", g.kind.code())?;
                    }
                }
                if count.is_some_and(|c| reads >= c) {
                    break Some(Exit::Ok);
                }
            }
        }
        out.flush()?;
    };
    stop.cancel();
    let _ = task.await;
    out.flush()?;
    Ok(exit.unwrap_or(if connected { Exit::Ok } else { Exit::Device }))
}

/// Bytes as a technician reads them: text as it is, control bytes by name (`<STX>`).
fn shown(bytes: &[u8]) -> String {
    const NAMES: [&str; 32] = [
        "NUL", "SOH", "STX", "ETX", "EOT", "ENQ", "ACK", "BEL", "BS", "HT", "LF", "VT", "FF", "CR",
        "SO", "SI", "DLE", "DC1", "DC2", "DC3", "DC4", "NAK", "SYN", "ETB", "CAN", "EM", "SUB",
        "ESC", "FS", "GS", "RS", "US",
    ];
    bytes
        .iter()
        .map(|&b| match b {
            0x20..=0x7E => char::from(b).to_string(),
            _ => NAMES
                .get(usize::from(b))
                .map_or_else(|| format!("<{b:02X}>"), |n| format!("<{n}>")),
        })
        .collect()
}
