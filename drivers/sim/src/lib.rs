//! The simulated passport printer's I/O shell: serves one `pstation_pjl::sim::SimPrinter` over a
//! pseudo-terminal (opened by the driver exactly like a serial port) or a TCP socket, paces its
//! reads at the configured baud rate (a PTY moves bytes at memory speed), writes a PNG of every
//! printed page and a JSON line per job to an output folder, and takes faults at run time.
//!
//! Design: the core is sans-IO and owns no clock; this shell gives it milliseconds since start
//! from tokio's clock, so tests may pause time when no real I/O is involved. Every connection
//! (PTY session, TCP client) is one I/O channel of the one printer: replies and job status go
//! back to the connection they belong to, never to another host.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use pstation_pjl::pcl::Bitmap;
use pstation_pjl::sim::{BadEnd, Channel, Fault, JobRecord, Output, SimConfig, SimPrinter};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{Mutex, mpsc, watch};
use tokio::time::Instant;

/// Run-time commands (from stdin, a control channel or a test).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    /// Inject a fault.
    Fault(Fault),
    /// Clear operator faults (close the cover, remove the jam, go online).
    Clear,
    /// Load booklets (`Refill(0)` empties the hopper: "out of booklets").
    Refill(u32),
    /// Close the link (unplug the cable).
    DropLink,
    /// Stop reading from the host (the host's writes back up) until `Resume`.
    Stall,
    /// Read again after a stall.
    Resume,
    /// Delay every reply by this many milliseconds.
    SlowReplies(u64),
}

/// Every control word, with what it does: typed on the simulator's standard input at run time,
/// or given with `--fault` at start. `N`, `MS` and `NAME` stand for a number or a choice. This
/// one table feeds `parse_control`, `pstation sim --help` and the answer to an unknown word.
pub const CONTROL_WORDS: &[(&str, &str)] = &[
    ("cover-open", "open the cover (40021) until `clear`"),
    (
        "jam@pageN",
        "jam at sheet N (1-based) of the next job; that sheet and the rest are lost",
    ),
    (
        "out-of-booklets",
        "empty the booklet hopper (the same as refill=0)",
    ),
    ("refill=N", "put N blank booklets in the hopper"),
    (
        "offline",
        "taken offline at the panel (40079) until `clear`",
    ),
    ("clear", "close the cover, remove the jam, go online"),
    (
        "power-cycle",
        "switch off and on: every job in the printer vanishes without an END, then warm-up",
    ),
    (
        "link-drop",
        "unplug the cable: every connected host loses its link",
    ),
    (
        "stall",
        "stop reading from the host (its writes back up) until `resume`",
    ),
    ("resume", "read again after `stall`"),
    ("garble", "garble the next reply"),
    (
        "slow=MS",
        "delay every reply by MS milliseconds (slow=0 ends it)",
    ),
    ("ink-low", "ink low (10006): a warning, printing goes on"),
    ("hardware", "a hardware failure (50000) until `clear`"),
    (
        "end=user-canceled",
        "the next job's END says RESULT=USER_CANCELED",
    ),
    (
        "end=host-canceled",
        "the next job's END says RESULT=HOST_CANCELED",
    ),
    (
        "end=resource-canceled",
        "the next job's END says RESULT=RESOURCE_CANCELED",
    ),
    ("end=wrong-name", "the next job's END names another job"),
    (
        "end=wrong-pages",
        "the next job's END reports one page fewer than printed",
    ),
];

/// The control words as `pstation sim --help` lists them: one per line with what it does.
pub fn control_help() -> String {
    let width = CONTROL_WORDS
        .iter()
        .map(|(w, _)| w.len())
        .max()
        .unwrap_or(0);
    let mut text = String::from(
        "Control words (type one per line on standard input while it runs, or give one with --fault at start):\n",
    );
    for (word, what) in CONTROL_WORDS {
        text.push_str(&format!("  {word:<width$}  {what}\n"));
    }
    text
}

/// The valid words, for the answer to an unknown one.
pub fn control_words() -> String {
    CONTROL_WORDS
        .iter()
        .map(|(w, _)| *w)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Parses a control or `--fault` word (see `CONTROL_WORDS`).
pub fn parse_control(word: &str) -> Option<Control> {
    let w = word.trim().to_ascii_lowercase();
    Some(match w.as_str() {
        "cover-open" => Control::Fault(Fault::CoverOpen),
        "offline" => Control::Fault(Fault::Offline),
        "ink-low" => Control::Fault(Fault::InkLow),
        "power-cycle" => Control::Fault(Fault::PowerCycle),
        "garble" => Control::Fault(Fault::Garble),
        "hardware" => Control::Fault(Fault::Hardware),
        "out-of-booklets" => Control::Refill(0),
        "clear" => Control::Clear,
        "link-drop" => Control::DropLink,
        "stall" => Control::Stall,
        "resume" => Control::Resume,
        "end=user-canceled" => Control::Fault(Fault::BadEnd(BadEnd::UserCanceled)),
        "end=host-canceled" => Control::Fault(Fault::BadEnd(BadEnd::HostCanceled)),
        "end=resource-canceled" => Control::Fault(Fault::BadEnd(BadEnd::ResourceCanceled)),
        "end=wrong-name" => Control::Fault(Fault::BadEnd(BadEnd::WrongName)),
        "end=wrong-pages" => Control::Fault(Fault::BadEnd(BadEnd::WrongPages)),
        _ => {
            if let Some(n) = w.strip_prefix("jam@page") {
                Control::Fault(Fault::JamAtPage(n.parse().ok().filter(|n| *n > 0)?))
            } else if let Some(n) = w.strip_prefix("refill=") {
                Control::Refill(n.parse().ok()?)
            } else if let Some(ms) = w.strip_prefix("slow=") {
                Control::SlowReplies(ms.parse().ok()?)
            } else {
                return None;
            }
        }
    })
}

/// How the simulator runs.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// The core's settings.
    pub printer: SimConfig,
    /// Bytes per second are baud / 10 (8N1); 0 = no pacing.
    pub baud: u32,
    /// Where pages (PNG) and the job log (`jobs.jsonl`) go.
    pub out_dir: Option<PathBuf>,
}

/// Why the simulator stopped.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The transport failed.
    #[error("simulator I/O: {0}")]
    Io(#[from] std::io::Error),
}

/// The shared printer, its start time and its state not tied to one connection. Each connection
/// is one I/O channel of the core; what the core says is routed to the channel it belongs to.
pub struct Printer {
    core: Mutex<SimPrinter>,
    start: Instant,
    opts: SimOptions,
    stalled: Mutex<bool>,
    slow_ms: Mutex<u64>,
    /// Where each live channel's bytes go.
    sinks: std::sync::Mutex<BTreeMap<Channel, mpsc::UnboundedSender<Vec<u8>>>>,
    next_channel: AtomicU32,
    /// Bumped to make every connected host lose its link.
    drops: watch::Sender<u64>,
    /// Every finished job, as it finishes (for tests and benchmarks that watch the printer).
    records: tokio::sync::broadcast::Sender<JobRecord>,
}

impl Printer {
    /// A printer switched on now.
    pub fn new(opts: SimOptions) -> Arc<Self> {
        Arc::new(Self {
            core: Mutex::new(SimPrinter::new(opts.printer.clone(), 0)),
            start: Instant::now(),
            opts,
            stalled: Mutex::new(false),
            slow_ms: Mutex::new(0),
            sinks: std::sync::Mutex::new(BTreeMap::new()),
            next_channel: AtomicU32::new(1),
            drops: watch::channel(0).0,
            records: tokio::sync::broadcast::channel(256).0,
        })
    }

    fn now_ms(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    /// Every job the printer finishes from now on (name, pages, times, how it ended).
    pub fn subscribe_records(&self) -> tokio::sync::broadcast::Receiver<JobRecord> {
        self.records.subscribe()
    }

    /// Booklets left in the hopper.
    pub async fn hopper(&self) -> u32 {
        self.core.lock().await.hopper()
    }

    /// Sends each output where it belongs: bytes to their channel's host (dropped when that
    /// host has gone, as a printer's buffer is), finished jobs to the output folder.
    async fn route(&self, outputs: Vec<Output>) {
        for o in outputs {
            match o {
                Output::Send { channel, bytes } => {
                    let sinks = self.sinks.lock().unwrap_or_else(|e| e.into_inner());
                    if let Some(tx) = sinks.get(&channel) {
                        let _ = tx.send(bytes);
                    }
                }
                Output::JobDone(job) => {
                    let _ = self.records.send(job.clone());
                    self.record(&job).await;
                }
            }
        }
    }

    /// Applies a control command to the printer; returns `true` when the link must be dropped
    /// (the caller's connection). `Control::DropLink` also drops every other connected host.
    pub async fn control(&self, c: &Control) -> bool {
        let (out, drop_link) = {
            let mut core = self.core.lock().await;
            // Whatever was due before the command happens first, and is kept.
            let mut out = core.advance(self.now_ms());
            let drop_link = match c {
                Control::Fault(f) => {
                    out.extend(core.inject(*f));
                    false
                }
                Control::Clear => {
                    out.extend(core.clear_faults());
                    false
                }
                Control::Refill(0) => {
                    let n = core.hopper();
                    out.extend(core.take_booklets(n));
                    false
                }
                Control::Refill(n) => {
                    out.extend(core.refill(*n));
                    false
                }
                Control::DropLink => true,
                Control::Stall => {
                    *self.stalled.lock().await = true;
                    false
                }
                Control::Resume => {
                    *self.stalled.lock().await = false;
                    false
                }
                Control::SlowReplies(ms) => {
                    *self.slow_ms.lock().await = *ms;
                    false
                }
            };
            (out, drop_link)
        };
        self.route(out).await;
        if drop_link {
            self.drops.send_modify(|g| *g += 1);
        }
        drop_link
    }

    async fn record(&self, job: &JobRecord) {
        let Some(dir) = &self.opts.out_dir else {
            return;
        };
        let safe: String = job
            .name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let mut files = Vec::new();
        for (i, page) in job.printed.iter().enumerate() {
            let path = dir.join(format!("{safe}-page{}.png", i + 1));
            if let Some(png) = raster_png(page)
                && tokio::fs::write(&path, png).await.is_ok()
            {
                files.push(path.display().to_string());
            }
        }
        let line = serde_json::json!({
            "name": job.name,
            "channel": job.channel,
            "pages_received": job.pages_received,
            "pages_printed": job.printed.len(),
            "bytes": job.bytes,
            "result": job.result,
            "ending": job.ending.as_str(),
            "start_ms": job.started_ms,
            "end_ms": job.ended_ms,
            "png": files,
        });
        let log = dir.join("jobs.jsonl");
        let mut f = match tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .await
        {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!(error = %e, "cannot write the simulator's job log");
                return;
            }
        };
        // tokio's File finishes a write in the background: flush, so the line is in the file
        // before the host hears the job's END.
        if let Err(e) = async {
            f.write_all(format!("{line}\n").as_bytes()).await?;
            f.flush().await
        }
        .await
        {
            tracing::warn!(error = %e, "cannot write the simulator's job log");
        }
    }
}

/// A 1-bit page as a PNG (ink black on white).
pub fn raster_png(page: &Bitmap) -> Option<Vec<u8>> {
    let img = image::GrayImage::from_fn(page.width, page.height, |x, y| {
        image::Luma([if page.get(x, y) { 0 } else { 255 }])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).ok()?;
    Some(out.into_inner())
}

/// A control receiver for a connection that takes no per-connection commands.
pub fn no_control() -> mpsc::Receiver<Control> {
    mpsc::channel(1).1
}

/// Serves one connection (one I/O channel of the printer) until the host closes it, the link is
/// dropped, or I/O fails. `control` carries run-time commands for this connection (a
/// `DropLink` sent here drops every connected host, as pulling the printer's plug would).
pub async fn serve<S>(
    printer: Arc<Printer>,
    stream: S,
    control: mpsc::Receiver<Control>,
) -> Result<(), SimError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let channel = printer.next_channel.fetch_add(1, Ordering::Relaxed);
    let (tx, sink) = mpsc::unbounded_channel();
    printer
        .sinks
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(channel, tx);
    let result = serve_channel(&printer, channel, stream, control, sink).await;
    printer
        .sinks
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&channel);
    // The host is gone: a job it left open ends with what it sent.
    let out = printer.core.lock().await.close_channel(channel);
    printer.route(out).await;
    result
}

async fn serve_channel<S>(
    printer: &Printer,
    channel: Channel,
    stream: S,
    mut control: mpsc::Receiver<Control>,
    mut sink: mpsc::UnboundedReceiver<Vec<u8>>,
) -> Result<(), SimError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (mut rd, mut wr) = tokio::io::split(stream);
    let mut buf = vec![0u8; 4096];
    // When the bytes read so far would have finished arriving over a real line: sleeping until
    // this absolute time keeps timer rounding from accumulating over a long job.
    let mut line_free = Instant::now();
    let per_byte = (printer.opts.baud > 0)
        .then(|| Duration::from_secs_f64(10.0 / f64::from(printer.opts.baud)));
    let mut control_open = true;
    let mut drops = printer.drops.subscribe();
    drops.mark_unchanged();
    loop {
        let deadline = {
            let core = printer.core.lock().await;
            core.next_deadline()
                .map(|ms| printer.start + Duration::from_millis(ms))
                .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600))
        };
        let stalled = *printer.stalled.lock().await;
        tokio::select! {
            n = rd.read(&mut buf), if !stalled => {
                let n = n?;
                if n == 0 {
                    return Ok(());
                }
                if let Some(d) = per_byte {
                    line_free = line_free.max(Instant::now()) + d * n as u32;
                    tokio::time::sleep_until(line_free).await;
                }
                let out = {
                    let mut core = printer.core.lock().await;
                    let mut out = core.advance(printer.now_ms());
                    out.extend(core.feed_from(channel, &buf[..n]));
                    out
                };
                printer.route(out).await;
            }
            bytes = sink.recv() => {
                let Some(mut bytes) = bytes else { return Ok(()) };
                // Everything already waiting goes out in one write: separate small writes
                // would meet Nagle's algorithm and the host's delayed ACK (40 ms each).
                while let Ok(more) = sink.try_recv() {
                    bytes.extend_from_slice(&more);
                }
                let slow = *printer.slow_ms.lock().await;
                if slow > 0 {
                    tokio::time::sleep(Duration::from_millis(slow)).await;
                }
                // A host that stops reading must not wedge the printer (and its controls).
                let write = async {
                    wr.write_all(&bytes).await?;
                    wr.flush().await
                };
                match tokio::time::timeout(Duration::from_secs(30), write).await {
                    Ok(r) => r?,
                    Err(_) => return Ok(()),
                }
            }
            c = control.recv(), if control_open => {
                let Some(c) = c else {
                    // No more run-time control for this session; keep serving.
                    control_open = false;
                    continue;
                };
                if printer.control(&c).await {
                    return Ok(());
                }
            }
            changed = drops.changed() => {
                if changed.is_ok() {
                    return Ok(());
                }
            }
            () = tokio::time::sleep_until(deadline) => {
                let out = printer.core.lock().await.advance(printer.now_ms());
                printer.route(out).await;
            }
        }
    }
}

/// The printer's end of a pseudo-terminal "cable", as a serial printer sees its port: the host
/// opening the port is a connection, the host closing it (cleanly, or by dying) is the end of
/// that connection (a real printer sees DTR drop).
///
/// The simulator holds no file descriptor of the slave, so the kernel tells the master when the
/// last host descriptor closes: reads return `EIO`. Before a host has opened the port they return
/// `EIO` too, so until the first sign of a host (a read that would block where one found the
/// port closed, or data) this retries every 20 ms; after it, `EIO` reads as end of file. A host
/// that opens the port and closes it again within one 20 ms look, without writing, goes
/// unnoticed: this PTY is kept, and if that host left the exclusive flag (`TIOCEXCL`) set, only
/// root can open it again — a limit of simulating a serial port on a PTY.
pub struct PtyLine {
    master: tokio_serial::SerialStream,
    /// A read has returned `EIO`: no host had the port open then.
    closed_seen: bool,
    host_seen: bool,
    retry: Option<std::pin::Pin<Box<tokio::time::Sleep>>>,
}

/// How often the simulator looks for a host on a port nobody has open.
const HOST_POLL: Duration = Duration::from_millis(20);

/// `EIO`: what a PTY master reads while no slave descriptor is open (Linux and the BSDs).
const EIO: i32 = 5;

impl PtyLine {
    /// The master side of a fresh PTY pair and the slave's path. The slave descriptor is
    /// closed here; the host opens it by path.
    pub fn open() -> std::io::Result<(Self, String)> {
        use tokio_serial::SerialPort;
        let (master, slave) = tokio_serial::SerialStream::pair()?;
        let path = slave
            .name()
            .ok_or_else(|| std::io::Error::other("the PTY slave has no name"))?;
        drop(slave);
        Ok((
            Self {
                master,
                closed_seen: false,
                host_seen: false,
                retry: None,
            },
            path,
        ))
    }
}

impl AsyncRead for PtyLine {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        use std::task::Poll;
        let this = self.get_mut();
        loop {
            if let Some(retry) = this.retry.as_mut() {
                if retry.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                this.retry = None;
            }
            let before = buf.filled().len();
            match std::pin::Pin::new(&mut this.master).poll_read(cx, buf) {
                Poll::Ready(Err(e)) if e.raw_os_error() == Some(EIO) => {
                    if this.host_seen {
                        // The host closed the port: end of this connection.
                        return Poll::Ready(Ok(()));
                    }
                    this.closed_seen = true;
                    this.retry = Some(Box::pin(tokio::time::sleep(HOST_POLL)));
                }
                Poll::Pending => {
                    // A read that would block after one that found the port closed: a host
                    // has opened it. (Before the first `EIO` it may only be that the kernel
                    // has not yet reported our own slave descriptor's close.)
                    if this.closed_seen {
                        this.host_seen = true;
                    }
                    return Poll::Pending;
                }
                Poll::Ready(Ok(())) => {
                    if buf.filled().len() > before {
                        this.host_seen = true;
                    }
                    return Poll::Ready(Ok(()));
                }
                other => return other,
            }
        }
    }
}

impl AsyncWrite for PtyLine {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        data: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.get_mut().master).poll_write(cx, data)
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.get_mut().master).poll_flush(cx)
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.get_mut().master).poll_shutdown(cx)
    }
}

/// Points the symlink `link` at `target`, atomically: a host opening it meanwhile finds the old
/// PTY or the new one (as a udev rule keeps `/dev/pstation-printer` pointing at the device).
pub fn point_link(link: &std::path::Path, target: &str) -> std::io::Result<()> {
    let tmp = link.with_extension("new");
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(target, &tmp)?;
    std::fs::rename(&tmp, link)
}

/// Serves `printer` on pseudo-terminals, one per host connection, until the task is dropped:
/// when a host closes the port (or dies, or `link-drop` unplugs it) the next connection gets a
/// fresh PTY, like a USB serial adapter that re-enumerates. `link`, when given, is a symlink
/// kept pointing at the current slave (as a udev rule keeps `/dev/pstation-printer`); each new
/// slave path is also sent on `ready`. A fresh PTY per connection also frees the port of a
/// host killed while holding it exclusively (`TIOCEXCL` outlives its owner on a PTY, whose
/// master pins the slave, but not on a real serial port).
pub async fn serve_pty(
    printer: Arc<Printer>,
    link: Option<PathBuf>,
    ready: mpsc::Sender<String>,
) -> std::io::Result<()> {
    loop {
        let (line, path) = PtyLine::open()?;
        if let Some(link) = &link {
            point_link(link, &path)?;
        }
        let _ = ready.send(path).await;
        if let Err(e) = serve(printer.clone(), line, no_control()).await {
            tracing::info!(error = %e, "simulator: PTY connection ended");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_words_parse_and_unknown_ones_do_not() {
        assert_eq!(
            parse_control("cover-open"),
            Some(Control::Fault(Fault::CoverOpen))
        );
        assert_eq!(
            parse_control(" JAM@PAGE2 "),
            Some(Control::Fault(Fault::JamAtPage(2)))
        );
        assert_eq!(parse_control("refill=10"), Some(Control::Refill(10)));
        assert_eq!(parse_control("out-of-booklets"), Some(Control::Refill(0)));
        assert_eq!(parse_control("slow=250"), Some(Control::SlowReplies(250)));
        assert_eq!(parse_control("link-drop"), Some(Control::DropLink));
        // Every word of the table (with its placeholder filled in) is one the parser takes.
        for (word, _) in CONTROL_WORDS {
            let word = word.replace("N", "2").replace("MS", "500");
            assert!(parse_control(&word).is_some(), "{word}");
        }
        assert_eq!(CONTROL_WORDS.len(), 19, "a new word goes in the table");
        for bad in ["", "jam@page0", "jam@pagex", "refill=-1", "meteor"] {
            assert_eq!(parse_control(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_page_becomes_a_black_on_white_png() {
        let mut r = Bitmap::blank(16, 2);
        r.bits[0] = 0x80;
        let png = raster_png(&r).expect("png");
        let img = image::load_from_memory(&png).expect("decodes").to_luma8();
        assert_eq!(img.get_pixel(0, 0).0, [0]);
        assert_eq!(img.get_pixel(1, 0).0, [255]);
    }
}
