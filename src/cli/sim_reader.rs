//! `pstation sim-reader`: a simulated MRZ document reader on a PTY (`--link` keeps a symlink at
//! the current one). When a booklet is laid on it — a page image named on stdin (`read=FILE`),
//! or each page the printer simulator writes into `--watch DIR` — it reads the MRZ off the
//! image with its own OCR-B reader (`layout::readback`: the bitmap the station really sent)
//! and sends the lines in the configured framing. Faults on demand, at start (`--fault`) or on
//! stdin: a substituted character, a dropped line, padding, another booklet's MRZ, garbage,
//! silence, a smudge on the page itself (its OCR then reads what is left); `clear` ends them.

use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use pstation_reader::{Framing, encode};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use super::{CmdResult, Exit};
use crate::layout::fonts::Fonts;
use crate::layout::readback::{MrzReader, bitmap_from_image, page_dpi};

/// `pstation sim-reader` arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct SimReaderArgs {
    /// Keep a symlink at PATH pointing at the current pseudo-terminal (the station's
    /// `[reader] device = "serial://PATH?framing=..."`).
    #[arg(long, value_name = "PATH")]
    pub link: Option<PathBuf>,
    /// How the reader frames what it read: plain, cute or rte.
    #[arg(long, default_value = "plain")]
    pub framing: String,
    /// Read each new page image (PNG) the printer simulator writes into DIR, as if each
    /// printed booklet were laid on the reader.
    #[arg(long, value_name = "DIR")]
    pub watch: Option<PathBuf>,
    /// A fault applied from the start (repeatable; the words are listed below).
    #[arg(long = "fault", value_name = "FAULT")]
    pub faults: Vec<String>,
}

/// What the simulated reader does wrong, until `clear`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// The character at (line, 1-based position) is read as another one.
    Substitute(usize, usize),
    /// A line (1 or 2) is not sent.
    DropLine(usize),
    /// Every line is padded with spaces to 48 characters.
    Pad,
    /// Another booklet's MRZ is sent (the ICAO specimen's).
    OtherBooklet,
    /// Bytes that make no document are sent instead.
    Garbage,
    /// Nothing is sent.
    Silence,
    /// The page is smudged at character POS of line 2 before it is read (the OCR sees it).
    Smudge(usize),
}

/// The control words, for `--help` and errors.
pub const CONTROL_WORDS: &str =
    "read=FILE, substitute=LINE:POS, drop-line=1|2, pad, other-booklet, garbage, silence, clear";

/// A control word on stdin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    /// Lay the booklet whose page image is FILE on the reader.
    Read(PathBuf),
    /// Add a fault.
    Fault(Fault),
    /// End every fault.
    Clear,
}

/// Parses a control word.
pub fn parse_control(word: &str) -> Option<Control> {
    let word = word.trim();
    let (key, value) = word.split_once('=').unwrap_or((word, ""));
    Some(match (key, value) {
        ("read", v) if !v.is_empty() => Control::Read(PathBuf::from(v)),
        ("clear", "") => Control::Clear,
        ("pad", "") => Control::Fault(Fault::Pad),
        ("other-booklet", "") => Control::Fault(Fault::OtherBooklet),
        ("garbage", "") => Control::Fault(Fault::Garbage),
        ("silence", "") => Control::Fault(Fault::Silence),
        ("drop-line", "1") => Control::Fault(Fault::DropLine(1)),
        ("drop-line", "2") => Control::Fault(Fault::DropLine(2)),
        ("smudge", v) => {
            let pos: usize = v.parse().ok().filter(|p| (1..=44).contains(p))?;
            Control::Fault(Fault::Smudge(pos))
        }
        ("substitute", v) => {
            let (line, pos) = v.split_once(':')?;
            let line: usize = line.parse().ok().filter(|l| (1..=2).contains(l))?;
            let pos: usize = pos.parse().ok().filter(|p| (1..=44).contains(p))?;
            Control::Fault(Fault::Substitute(line, pos))
        }
        _ => return None,
    })
}

/// The ICAO 9303 specimen (fictitious Utopia): "another booklet".
const OTHER: [&str; 2] = [
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
];

/// The bytes the reader sends for `lines` (as read off the page) with `faults` applied; `None`
/// when it stays silent.
pub fn reply(framing: Framing, lines: &[String], faults: &[Fault]) -> Option<Vec<u8>> {
    if faults.contains(&Fault::Silence) {
        return None;
    }
    if faults.contains(&Fault::Garbage) {
        // Fixed bytes, the same every time: text, control bytes and a stray frame opener.
        return Some(b"\x02#~\x7F\xFFgarbage\x01\x00\x1B[0m\r\n".to_vec());
    }
    let mut lines: Vec<String> = if faults.contains(&Fault::OtherBooklet) {
        OTHER.iter().map(|l| (*l).to_owned()).collect()
    } else {
        lines.to_vec()
    };
    for f in faults {
        if let &Fault::Substitute(line, pos) = f
            && let Some(l) = lines.get_mut(line - 1)
            && let Some(c) = l.chars().nth(pos - 1)
        {
            let other = match c {
                '0'..='8' => char::from(c as u8 + 1),
                '9' => '0',
                'A'..='Y' => char::from(c as u8 + 1),
                'Z' => 'A',
                _ => 'X',
            };
            l.replace_range(pos - 1..pos, &other.to_string());
        }
    }
    if faults.contains(&Fault::Pad) {
        for l in &mut lines {
            while l.len() < 48 {
                l.push(' ');
            }
        }
    }
    // Dropping line 1 first keeps the index of line 2 right.
    for n in [1, 2] {
        if faults.contains(&Fault::DropLine(n)) && lines.len() == 2 {
            lines.remove(n - 1);
        }
    }
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    Some(encode(framing, &refs))
}

pub(super) fn run(args: SimReaderArgs, out: &mut dyn Write, err: &mut dyn Write) -> CmdResult {
    let framing = match Framing::parse(&args.framing, None, None) {
        Ok(f) => f,
        Err(e) => {
            writeln!(err, "--framing: {e}")?;
            return Ok(Exit::InvalidInput);
        }
    };
    let mut faults = Vec::new();
    for f in &args.faults {
        match parse_control(f) {
            Some(Control::Fault(fault)) => faults.push(fault),
            _ => {
                writeln!(
                    err,
                    "--fault: unknown-fault: {f:?} is not a fault; the words are: {CONTROL_WORDS}"
                )?;
                return Ok(Exit::InvalidInput);
            }
        }
    }
    let Some(runtime) = super::runtime(err)? else {
        return Ok(Exit::Internal);
    };
    let sim = ReaderSim {
        framing,
        link: args.link,
        watch: args.watch,
        faults,
    };
    runtime.block_on(async move {
        let (controls, control_rx) = mpsc::channel(16);
        let (reports_tx, mut reports) = mpsc::channel(64);
        let task = tokio::spawn(simulate(sim, control_rx, reports_tx));
        let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
        let mut stdin_open = true;
        loop {
            tokio::select! {
                line = lines.next_line(), if stdin_open => {
                    let Ok(Some(line)) = line else {
                        stdin_open = false;
                        continue;
                    };
                    if line.trim().is_empty() {
                        continue;
                    }
                    match parse_control(&line) {
                        Some(c) => {
                            let _ = controls.send(c).await;
                        }
                        None => writeln!(err, "control: unknown-command: {:?}; the words are: {CONTROL_WORDS}", line.trim())?,
                    }
                }
                report = reports.recv() => {
                    let Some(report) = report else { break };
                    writeln!(out, "{report}")?;
                    out.flush()?;
                }
                _ = tokio::signal::ctrl_c() => break,
            }
        }
        if !task.is_finished() {
            task.abort();
        } else if let Ok(Err(e)) = task.await {
            writeln!(err, "sim-reader: device-io: the simulated reader stopped: {e}")?;
            return Ok(Exit::Internal);
        }
        Ok(Exit::Ok)
    })
}

/// A simulated reader: its framing, the symlink kept at its PTY, the folder whose new page
/// images are laid on it, and the faults it starts with.
#[derive(Debug, Clone)]
pub struct ReaderSim {
    /// How it frames what it read.
    pub framing: Framing,
    /// A symlink kept pointing at the current PTY.
    pub link: Option<PathBuf>,
    /// Each new page image here is read as if its booklet were laid on the reader.
    pub watch: Option<PathBuf>,
    /// Faults from the start.
    pub faults: Vec<Fault>,
}

/// Runs the simulated reader until `controls` closes: reports `pty PATH` first, then
/// `ok WORD` for each control applied and `read FILE: ...` for each page read.
pub async fn simulate(
    sim: ReaderSim,
    mut controls: mpsc::Receiver<Control>,
    reports: mpsc::Sender<String>,
) -> std::io::Result<()> {
    let fonts = Fonts::shared().map_err(|e| std::io::Error::other(e.to_string()))?;
    let (send_tx, send_rx) = mpsc::channel::<Vec<u8>>(16);
    let (ready_tx, mut ready_rx) = mpsc::channel::<String>(4);
    let line_task = tokio::spawn(serve_line(sim.link.clone(), send_rx, ready_tx));
    let Some(path) = ready_rx.recv().await else {
        return Err(std::io::Error::other("cannot open a PTY"));
    };
    let _ = reports.send(format!("pty {path}")).await;
    tokio::spawn(async move { while ready_rx.recv().await.is_some() {} });
    let mut faults = sim.faults.clone();
    let mut readers: HashMap<u32, MrzReader> = HashMap::new();
    let mut seen = match &sim.watch {
        Some(dir) => pages_in(dir),
        None => BTreeSet::new(),
    };
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        let page: Option<PathBuf> = tokio::select! {
            control = controls.recv() => match control {
                None => break,
                Some(Control::Read(path)) => Some(path),
                Some(Control::Fault(f)) => {
                    let word = fault_word(&f);
                    faults.push(f);
                    let _ = reports.send(format!("ok {word}")).await;
                    None
                }
                Some(Control::Clear) => {
                    faults.clear();
                    let _ = reports.send("ok clear".to_owned()).await;
                    None
                }
            },
            _ = tick.tick(), if sim.watch.is_some() => {
                let dir = sim.watch.as_deref().unwrap_or(Path::new("."));
                let fresh = pages_in(dir).into_iter().find(|p| !seen.contains(p));
                if let Some(p) = &fresh {
                    seen.insert(p.clone());
                }
                fresh
            }
        };
        let Some(page) = page else { continue };
        let report = match read_page(&page, &fonts, &mut readers, &faults).await {
            Ok(read) => {
                let unread: usize = read.iter().map(|l| l.matches('?').count()).sum();
                let sent = reply(sim.framing, &read, &faults);
                let n = sent.as_ref().map_or(0, Vec::len);
                if let Some(bytes) = sent {
                    let _ = send_tx.send(bytes).await;
                }
                format!(
                    "read {}: {} line(s), {unread} unreadable; sent {n} bytes",
                    page.display(),
                    read.len()
                )
            }
            Err(e) => format!("read {}: failed: {e}", page.display()),
        };
        let _ = reports.send(report).await;
    }
    line_task.abort();
    Ok(())
}

/// A fault as its control word.
fn fault_word(f: &Fault) -> String {
    match f {
        Fault::Substitute(l, p) => format!("substitute={l}:{p}"),
        Fault::DropLine(n) => format!("drop-line={n}"),
        Fault::Pad => "pad".into(),
        Fault::OtherBooklet => "other-booklet".into(),
        Fault::Garbage => "garbage".into(),
        Fault::Silence => "silence".into(),
        Fault::Smudge(p) => format!("smudge={p}"),
    }
}

/// The page images in `dir`, by name.
fn pages_in(dir: &Path) -> BTreeSet<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "png"))
                .collect()
        })
        .unwrap_or_default()
}

/// Reads the MRZ off the page image at `path` (a file still being written is tried again).
async fn read_page(
    path: &Path,
    fonts: &std::sync::Arc<Fonts>,
    readers: &mut HashMap<u32, MrzReader>,
    faults: &[Fault],
) -> Result<Vec<String>, String> {
    let mut tries = 0;
    let page = loop {
        let bytes = tokio::fs::read(path).await.map_err(|e| e.to_string())?;
        match bitmap_from_image(&bytes) {
            Ok(page) => break page,
            Err(e) if tries >= 20 => return Err(e.to_string()),
            Err(_) => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    let dpi = page_dpi(&page);
    let mut page = page;
    for f in faults {
        if let Fault::Smudge(pos) = f {
            smudge(&mut page, dpi, *pos);
        }
    }
    let reader = match readers.entry(dpi) {
        std::collections::hash_map::Entry::Occupied(e) => e.get().clone(),
        std::collections::hash_map::Entry::Vacant(e) => e
            .insert(MrzReader::new(fonts, dpi).map_err(|e| e.to_string())?)
            .clone(),
    };
    tokio::task::spawn_blocking(move || reader.read(&page))
        .await
        .map_err(|e| e.to_string())
}

/// Wipes most of the ink of character `pos` of line 2 off the page, as a smudge or a scratch
/// would (the cell's middle three fifths, over the line's height).
fn smudge(page: &mut pstation_printer_api::Bitmap, dpi: u32, pos: usize) {
    use crate::layout::build::mrz_geometry::{FIRST_CHAR_X_MM, LINE2_CENTRE_MM, PITCH_MM};
    let px = |mm: f32| (mm * dpi as f32 / 25.4).round() as i64;
    let left = px(FIRST_CHAR_X_MM + PITCH_MM * (pos as f32 - 1.0) + PITCH_MM * 0.2);
    let right = px(FIRST_CHAR_X_MM + PITCH_MM * (pos as f32 - 1.0) + PITCH_MM * 0.8);
    let bottom = i64::from(page.height) - px(LINE2_CENTRE_MM - 2.0);
    let top = i64::from(page.height) - px(LINE2_CENTRE_MM + 2.0);
    for y in top.max(0)..bottom.min(i64::from(page.height)) {
        for x in left.max(0)..right.min(i64::from(page.width)) {
            let i = y as usize * page.stride + (x / 8) as usize;
            page.bits[i] &= !(0x80 >> (x % 8));
        }
    }
}

/// Serves the reader's side of a PTY, a fresh one for each host connection (as the printer
/// simulator does): sends what arrives on `send`, notices when the host closes the line.
async fn serve_line(
    link: Option<PathBuf>,
    mut send: mpsc::Receiver<Vec<u8>>,
    ready: mpsc::Sender<String>,
) -> std::io::Result<()> {
    loop {
        let (mut line, path) = pstation_sim::PtyLine::open()?;
        if let Some(link) = &link {
            pstation_sim::point_link(link, &path)?;
        }
        let _ = ready.send(path).await;
        let mut buf = [0u8; 256];
        loop {
            tokio::select! {
                r = line.read(&mut buf) => match r {
                    // The host closed the line (or it failed): a fresh PTY for the next one.
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                },
                bytes = send.recv() => {
                    let Some(bytes) = bytes else { return Ok(()) };
                    if line.write_all(&bytes).await.is_err() {
                        break;
                    }
                    let _ = line.flush().await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines() -> Vec<String> {
        OTHER.iter().map(|l| l.replace("UTO", "IDN")).collect()
    }

    #[test]
    fn control_words_parse() {
        assert_eq!(
            parse_control("substitute=2:5"),
            Some(Control::Fault(Fault::Substitute(2, 5)))
        );
        assert_eq!(
            parse_control("drop-line=1"),
            Some(Control::Fault(Fault::DropLine(1)))
        );
        assert_eq!(parse_control(" clear "), Some(Control::Clear));
        assert_eq!(
            parse_control("read=/tmp/p.png"),
            Some(Control::Read("/tmp/p.png".into()))
        );
        for bad in [
            "substitute=3:1",
            "substitute=1:45",
            "drop-line=3",
            "read=",
            "meteor",
            "pad=1",
        ] {
            assert_eq!(parse_control(bad), None, "{bad}");
        }
    }

    #[test]
    fn each_fault_changes_what_is_sent() {
        let l = lines();
        let clean = reply(Framing::Plain, &l, &[]).expect("sent");
        assert_eq!(clean, format!("{}\r{}\r", l[0], l[1]).into_bytes());
        let sub = reply(Framing::Plain, &l, &[Fault::Substitute(2, 1)]).expect("sent");
        assert_eq!(sub[45], b'M', "L becomes M");
        let dropped = reply(Framing::Plain, &l, &[Fault::DropLine(1)]).expect("sent");
        assert_eq!(dropped, format!("{}\r", l[1]).into_bytes());
        let padded = reply(Framing::Plain, &l, &[Fault::Pad]).expect("sent");
        assert_eq!(padded.len(), 2 * 49);
        let other = reply(Framing::Plain, &l, &[Fault::OtherBooklet]).expect("sent");
        assert!(other.starts_with(b"P<UTO"));
        assert_eq!(reply(Framing::Plain, &l, &[Fault::Silence]), None);
        let garbage = reply(Framing::CUTE, &l, &[Fault::Garbage]).expect("sent");
        assert_ne!(garbage, reply(Framing::CUTE, &l, &[]).expect("sent"));
    }
}
