//! The reader's serial line: one task opens it (again after it is lost, with a growing pause),
//! feeds every byte to the sans-IO decoder, flushes it when the line has been quiet, and sends
//! what it found — documents, garbled bytes, the link's state — to whoever owns the reader.

use std::time::Duration;

use pstation_reader::{Decoder, Event};
use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::settings::ReaderUri;

/// The reader link's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkState {
    /// Opening the line.
    Connecting,
    /// Open: reads arrive as booklets are laid on the reader.
    Connected,
    /// Not open: why, with a stable code, and what to try.
    Down {
        /// `reader-missing`, `reader-permission`, `reader-busy`, `reader-io`, `reader-closed`.
        code: &'static str,
        /// What happened and what to try.
        message: String,
    },
}

/// What the link reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReaderMsg {
    /// The link's state changed.
    State(LinkState),
    /// The decoder found a document or garbled bytes; `at` is when the last byte of it came.
    Event {
        /// What was found.
        event: Event,
        /// When its last byte arrived.
        at: tokio::time::Instant,
    },
    /// The bytes as they came (only when asked for: the technician's raw view).
    Raw(Vec<u8>),
}

/// Runs the link until `stop`: opens `uri`, decodes, reports to `tx` (raw bytes too when
/// `raw`). Ends when `stop` is cancelled or nobody listens any more.
pub async fn run(
    uri: ReaderUri,
    quiet: Duration,
    raw: bool,
    tx: mpsc::Sender<ReaderMsg>,
    stop: CancellationToken,
) {
    let mut pause = Duration::from_millis(100);
    loop {
        if tx
            .send(ReaderMsg::State(LinkState::Connecting))
            .await
            .is_err()
        {
            return;
        }
        let down = match open(&uri) {
            Ok(port) => {
                pause = Duration::from_millis(100);
                if tx
                    .send(ReaderMsg::State(LinkState::Connected))
                    .await
                    .is_err()
                {
                    return;
                }
                match read_until_lost(port, &uri, quiet, raw, &tx, &stop).await {
                    Some(down) => down,
                    None => return,
                }
            }
            Err(down) => down,
        };
        if tx.send(ReaderMsg::State(down)).await.is_err() {
            return;
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(pause) => {}
        }
        pause = (pause * 2).min(Duration::from_secs(5));
    }
}

fn open(uri: &ReaderUri) -> Result<tokio_serial::SerialStream, LinkState> {
    use tokio_serial::SerialPortBuilderExt;
    let display = uri.path.display().to_string();
    tokio_serial::new(display.clone(), uri.baud)
        .flow_control(tokio_serial::FlowControl::None)
        .open_native_async()
        .map_err(|e| {
            let io: std::io::Error = e.into();
            down_from_io(&display, &io)
        })
}

fn down_from_io(display: &str, io: &std::io::Error) -> LinkState {
    let (code, hint) = match io.kind() {
        std::io::ErrorKind::NotFound => (
            "reader-missing",
            "check the reader's cable and power and the device path in [reader] device",
        ),
        std::io::ErrorKind::PermissionDenied => (
            "reader-permission",
            "the station's user needs read access to the device (group dialout)",
        ),
        _ if io.to_string().contains("lock") => (
            "reader-busy",
            "another program holds the reader; stop it (only one may own a reader)",
        ),
        _ => ("reader-io", "check the reader's cable and power"),
    };
    LinkState::Down {
        code,
        message: format!("{display}: {io} — {hint}"),
    }
}

/// Reads until the line is lost (`Some(why)`) or the task must end (`None`).
async fn read_until_lost(
    mut port: tokio_serial::SerialStream,
    uri: &ReaderUri,
    quiet: Duration,
    raw: bool,
    tx: &mpsc::Sender<ReaderMsg>,
    stop: &CancellationToken,
) -> Option<LinkState> {
    let mut decoder = Decoder::new(uri.framing);
    let mut buf = [0u8; 512];
    let display = uri.path.display().to_string();
    loop {
        let read = tokio::select! {
            _ = stop.cancelled() => return None,
            r = tokio::time::timeout(quiet, port.read(&mut buf)) => r,
        };
        let (events, at) = match read {
            // The line went quiet: what is open has ended.
            Err(_) => (decoder.flush(), tokio::time::Instant::now()),
            Ok(Ok(0)) => {
                return Some(LinkState::Down {
                    code: "reader-closed",
                    message: format!("{display}: the line closed — check the reader's cable"),
                });
            }
            Ok(Ok(n)) => {
                if raw && tx.send(ReaderMsg::Raw(buf[..n].to_vec())).await.is_err() {
                    return None;
                }
                (decoder.push(&buf[..n]), tokio::time::Instant::now())
            }
            Ok(Err(e)) => return Some(down_from_io(&display, &e)),
        };
        for event in events {
            if tx.send(ReaderMsg::Event { event, at }).await.is_err() {
                return None;
            }
        }
    }
}
