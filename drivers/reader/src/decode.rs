//! The decoder: bytes from a reader in, documents (or what was wrong with the bytes) out.

use std::fmt;

use crate::{CR, ETX, Framing, LF, MAX_LINE, MAX_LINES, SOH, STX, UNREADABLE};

/// The longest CUTE frame a reader may send between STX and ETX (the CUTE interface's limit).
const MAX_FRAME: usize = 1024;
/// A plain line longer than this is not an MRZ line (44 characters and some slack for padding).
const MAX_PLAIN_LINE: usize = 64;
/// Stray bytes counted between frames before the count stops growing (it is only reported).
const MAX_STRAY: u32 = 1 << 20;

/// One read: the lines a reader sent for one document, top to bottom, each character in
/// `A-Z0-9<` or [`UNREADABLE`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// The lines as read (a missing line is simply not there; RTE padding lines are dropped).
    pub lines: Vec<String>,
    /// The RTE reader's flag byte (what it says of the read), when the framing has one.
    pub flag: Option<u8>,
}

impl Document {
    /// How many characters the reader could not recognise.
    pub fn unreadable(&self) -> usize {
        self.lines
            .iter()
            .map(|l| l.chars().filter(|&c| c == UNREADABLE).count())
            .sum()
    }
}

/// Bytes that do not make a document, and where they were.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Garbled {
    /// Offset, counted from the first byte the decoder was given, of the first byte concerned.
    pub at: u64,
    /// What was wrong.
    pub kind: GarbledKind,
}

/// What was wrong with bytes that did not make a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GarbledKind {
    /// Bytes outside any frame (beyond the one SOD byte of a CUTE frame).
    Stray {
        /// How many.
        count: u32,
    },
    /// Control or non-ASCII bytes in a plain line.
    NotText,
    /// A plain line far longer than any MRZ line.
    LineTooLong,
    /// A CUTE frame longer than the interface allows, with no ETX.
    FrameTooLong,
    /// A frame that stopped before its end and then the line went quiet.
    Truncated,
    /// A new STX before the open frame's ETX.
    Reopened,
    /// An RTE length byte too small for any frame.
    Length {
        /// The length the frame declared.
        declared: u8,
    },
    /// An RTE frame whose block check character does not match its bytes.
    Bcc {
        /// The XOR of the frame's bytes.
        expected: u8,
        /// What the reader sent.
        got: u8,
    },
    /// An RTE frame without `"OU"<STX>` at its start or ETX at its end.
    Malformed,
}

impl GarbledKind {
    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Stray { .. } => "reader-stray-bytes",
            Self::NotText => "reader-not-text",
            Self::LineTooLong => "reader-line-too-long",
            Self::FrameTooLong => "reader-frame-too-long",
            Self::Truncated => "reader-frame-truncated",
            Self::Reopened => "reader-frame-reopened",
            Self::Length { .. } => "reader-frame-length",
            Self::Bcc { .. } => "reader-frame-bcc",
            Self::Malformed => "reader-frame-malformed",
        }
    }
}

impl fmt::Display for Garbled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = self.at;
        match self.kind {
            GarbledKind::Stray { count } => {
                write!(f, "{count} byte(s) outside a frame from byte {at}")
            }
            GarbledKind::NotText => write!(
                f,
                "control or non-ASCII bytes in a line (line from byte {at})"
            ),
            GarbledKind::LineTooLong => write!(
                f,
                "a line longer than {MAX_PLAIN_LINE} bytes from byte {at}"
            ),
            GarbledKind::FrameTooLong => write!(
                f,
                "a frame longer than {MAX_FRAME} bytes from byte {at} with no ETX"
            ),
            GarbledKind::Truncated => write!(f, "the frame from byte {at} stopped before its end"),
            GarbledKind::Reopened => {
                write!(f, "a new STX at byte {at} before the open frame's ETX")
            }
            GarbledKind::Length { declared } => write!(
                f,
                "length byte {declared} at byte {at} is too small for a frame"
            ),
            GarbledKind::Bcc { expected, got } => write!(
                f,
                "block check character 0x{got:02X} at byte {at}, the frame's bytes give 0x{expected:02X}"
            ),
            GarbledKind::Malformed => {
                write!(f, "the frame from byte {at} lacks \"OU\"<STX> or its ETX")
            }
        }?;
        f.write_str(
            "; check the reader's framing and baud rate in its device URI against its manual, and its cable",
        )
    }
}

/// What the decoder found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A document was read.
    Document(Document),
    /// Bytes that did not make a document.
    Garbled(Garbled),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between frames (plain: at the start of a line or inside one).
    Idle,
    /// Plain: skipping the rest of a line already reported.
    Skip,
    /// CUTE: inside STX..ETX.
    Body,
    /// CUTE: ETX seen; the next byte may be EOD.
    Eod,
    /// RTE: SOH seen; the next byte is the length.
    RteLen,
    /// RTE: collecting `len` bytes.
    RteBody { len: u8 },
    /// RTE: the next byte is the BCC.
    RteBcc { len: u8 },
}

/// The decoder for one reader link. Feed it every byte in order.
#[derive(Debug, Clone)]
pub struct Decoder {
    framing: Framing,
    state: State,
    /// The open frame's bytes (CUTE: after STX; RTE: after the length), or the plain line.
    frame: Vec<u8>,
    /// Plain: the block's lines so far.
    lines: Vec<String>,
    /// Plain: a byte of the current line was a control or non-ASCII byte.
    binary: bool,
    /// Plain: the previous byte was CR (an LF after it adds nothing).
    after_cr: bool,
    /// Offset of the next byte.
    seen: u64,
    /// Where the open frame or line began.
    frame_at: u64,
    /// Bytes between frames, where the first of them was, and the last of them (CUTE's SOD).
    stray: u32,
    stray_at: u64,
    last_stray: Option<u8>,
}

impl Decoder {
    /// A decoder for `framing`, at the start of the link.
    pub fn new(framing: Framing) -> Self {
        Self {
            framing,
            state: State::Idle,
            frame: Vec::new(),
            lines: Vec::new(),
            binary: false,
            after_cr: false,
            seen: 0,
            frame_at: 0,
            stray: 0,
            stray_at: 0,
            last_stray: None,
        }
    }

    /// The framing this decoder reads.
    pub fn framing(&self) -> Framing {
        self.framing
    }

    /// Takes the next bytes; returns what they completed.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Event> {
        let mut out = Vec::new();
        for &b in bytes {
            match self.framing {
                Framing::Plain => self.plain(b, &mut out),
                Framing::Cute { sod, eod } => self.cute(b, sod, eod, &mut out),
                Framing::Rte => self.rte(b, &mut out),
            }
            self.seen += 1;
        }
        out
    }

    /// The line has been quiet: ends what is open (a plain block missing a line comes out as
    /// it is; an unfinished frame is reported).
    pub fn flush(&mut self) -> Vec<Event> {
        let mut out = Vec::new();
        match self.state {
            State::Idle if self.framing == Framing::Plain => {
                if !self.frame.is_empty() || self.binary {
                    self.end_line(&mut out);
                }
                self.end_block(&mut out);
            }
            State::Skip => self.state = State::Idle,
            State::Body | State::RteLen | State::RteBody { .. } | State::RteBcc { .. } => {
                out.push(self.garbled(self.frame_at, GarbledKind::Truncated));
                self.state = State::Idle;
            }
            State::Eod | State::Idle => self.state = State::Idle,
        }
        self.frame.clear();
        self.report_stray(&mut out);
        self.after_cr = false;
        out
    }

    fn garbled(&self, at: u64, kind: GarbledKind) -> Event {
        Event::Garbled(Garbled { at, kind })
    }

    fn note_stray(&mut self, b: u8) {
        if self.stray == 0 {
            self.stray_at = self.seen;
        }
        self.stray = (self.stray + 1).min(MAX_STRAY);
        self.last_stray = Some(b);
    }

    fn report_stray(&mut self, out: &mut Vec<Event>) {
        if self.stray > 0 {
            out.push(self.garbled(self.stray_at, GarbledKind::Stray { count: self.stray }));
        }
        self.stray = 0;
        self.last_stray = None;
    }

    // ---- plain ----

    fn plain(&mut self, b: u8, out: &mut Vec<Event>) {
        let after_cr = std::mem::replace(&mut self.after_cr, b == CR);
        if b == LF && after_cr {
            return;
        }
        if b == CR || b == LF {
            if self.state == State::Skip {
                self.state = State::Idle;
                self.frame.clear();
                return;
            }
            if self.frame.is_empty() && !self.binary {
                // An empty line ends the block.
                self.end_block(out);
            } else {
                self.end_line(out);
            }
            return;
        }
        if self.state == State::Skip {
            return;
        }
        if self.frame.is_empty() && !self.binary {
            self.frame_at = self.seen;
        }
        if self.frame.len() >= MAX_PLAIN_LINE {
            out.push(self.garbled(self.frame_at, GarbledKind::LineTooLong));
            self.frame.clear();
            self.lines.clear();
            self.binary = false;
            self.state = State::Skip;
            return;
        }
        if !(0x20..0x7F).contains(&b) {
            self.binary = true;
        }
        self.frame.push(b);
    }

    fn end_line(&mut self, out: &mut Vec<Event>) {
        if std::mem::take(&mut self.binary) {
            out.push(self.garbled(self.frame_at, GarbledKind::NotText));
            self.frame.clear();
            self.lines.clear();
            return;
        }
        let trimmed = self
            .frame
            .iter()
            .rposition(|&b| b != b' ')
            .map_or(&self.frame[..0], |end| &self.frame[..=end]);
        let line = text(trimmed);
        self.frame.clear();
        self.lines.push(line);
        let wanted = match self.lines[0].len() {
            44 | 36 => 2,
            _ => MAX_LINES,
        };
        if self.lines.len() >= wanted {
            self.end_block(out);
        }
    }

    fn end_block(&mut self, out: &mut Vec<Event>) {
        if !self.lines.is_empty() {
            out.push(Event::Document(Document {
                lines: std::mem::take(&mut self.lines),
                flag: None,
            }));
        }
    }

    // ---- CUTE ----

    fn cute(&mut self, b: u8, sod: Option<u8>, eod: Option<u8>, out: &mut Vec<Event>) {
        match self.state {
            State::Eod => {
                self.state = State::Idle;
                let is_eod = match eod {
                    Some(e) => b == e,
                    None => b < 0x20 && b != STX,
                };
                if !is_eod {
                    self.cute(b, sod, eod, out);
                }
            }
            State::Idle | State::Skip => {
                if b == STX {
                    // One byte before STX is the SOD (any byte, unless configured).
                    let sod_ok = match (self.stray, sod) {
                        (0, _) => true,
                        (1, None) => true,
                        (1, Some(s)) => self.last_stray == Some(s),
                        _ => false,
                    };
                    if sod_ok {
                        self.stray = 0;
                        self.last_stray = None;
                    } else {
                        self.report_stray(out);
                    }
                    self.open_frame();
                } else {
                    self.note_stray(b);
                }
            }
            State::Body => {
                if b == ETX {
                    let lines = split_lines(&self.frame);
                    self.frame.clear();
                    out.push(Event::Document(Document { lines, flag: None }));
                    self.state = State::Eod;
                } else if b == STX {
                    out.push(self.garbled(self.seen, GarbledKind::Reopened));
                    self.open_frame();
                } else if self.frame.len() >= MAX_FRAME {
                    out.push(self.garbled(self.frame_at, GarbledKind::FrameTooLong));
                    self.frame.clear();
                    self.state = State::Idle;
                } else {
                    self.frame.push(b);
                }
            }
            State::RteLen | State::RteBody { .. } | State::RteBcc { .. } => {
                // Not reachable with CUTE framing; start over rather than panic.
                self.state = State::Idle;
            }
        }
    }

    fn open_frame(&mut self) {
        self.frame.clear();
        self.frame_at = self.seen;
        self.state = State::Body;
    }

    // ---- RTE ----

    fn rte(&mut self, b: u8, out: &mut Vec<Event>) {
        match self.state {
            State::RteLen => {
                // "OU" STX flag ... ETX: five bytes at the least.
                if b < 5 {
                    out.push(self.garbled(self.seen, GarbledKind::Length { declared: b }));
                    self.state = State::Idle;
                } else {
                    self.frame.clear();
                    self.state = State::RteBody { len: b };
                }
            }
            State::RteBody { len } => {
                self.frame.push(b);
                if self.frame.len() == usize::from(len) {
                    self.state = State::RteBcc { len };
                }
            }
            State::RteBcc { len } => {
                self.state = State::Idle;
                let expected = self.frame.iter().fold(len, |acc, &x| acc ^ x);
                if b != expected {
                    out.push(self.garbled(self.seen, GarbledKind::Bcc { expected, got: b }));
                } else if let Some(doc) = rte_document(&self.frame) {
                    out.push(Event::Document(doc));
                } else {
                    out.push(self.garbled(self.frame_at, GarbledKind::Malformed));
                }
                self.frame.clear();
            }
            State::Idle | State::Skip | State::Body | State::Eod => {
                if b == SOH {
                    self.report_stray(out);
                    self.frame_at = self.seen;
                    self.state = State::RteLen;
                } else {
                    self.note_stray(b);
                }
            }
        }
    }
}

/// An RTE frame's bytes after the length byte (`"OU"` STX flag lines ETX) as a document.
fn rte_document(frame: &[u8]) -> Option<Document> {
    let rest = frame.strip_prefix(b"OU\x02")?;
    let (&flag, rest) = rest.split_first()?;
    let body = rest.strip_suffix(&[ETX])?;
    let lines = split_lines(body)
        .into_iter()
        .filter(|l| !l.chars().all(|c| c == UNREADABLE))
        .collect();
    Some(Document {
        lines: lines_unpadded(lines),
        flag: Some(flag),
    })
}

/// RTE pads every line with `_` to 44: a shorter MRZ (TD1: 30, TD2: 36) comes back to its
/// length when what follows it is padding only. A TD3 line has no padding, so an unread last
/// character stays unread.
fn lines_unpadded(lines: Vec<String>) -> Vec<String> {
    lines
        .into_iter()
        .map(|l| {
            let kept = l.trim_end_matches(UNREADABLE);
            if l.len() == MAX_LINE && (kept.len() == 30 || kept.len() == 36) {
                kept.to_owned()
            } else {
                l
            }
        })
        .collect()
}

/// The lines of a frame body: CR-ended (the last CR may be missing), LF ignored, empty pieces
/// dropped.
fn split_lines(body: &[u8]) -> Vec<String> {
    body.split(|&b| b == CR)
        .map(|piece| {
            let piece: Vec<u8> = piece.iter().copied().filter(|&b| b != LF).collect();
            text(&piece)
        })
        .filter(|l| !l.is_empty())
        .collect()
}

/// MRZ text: `A-Z0-9<` kept, everything else (the readers' `_` and `?` among it) unreadable.
fn text(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| match b {
            b'A'..=b'Z' | b'0'..=b'9' | b'<' => char::from(b),
            _ => UNREADABLE,
        })
        .collect()
}
