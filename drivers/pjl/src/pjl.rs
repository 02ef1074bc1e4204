//! PJL job control: the commands and job envelope the host sends, and an incremental parser for
//! everything the printer sends back (replies and unsolicited `USTATUS` messages, framed by FF).
//!
//! Design: `ReplyParser::feed` takes any bytes — split anywhere, garbage included — and returns
//! complete messages. Bytes outside a frame are counted and dropped; a frame longer than
//! `MAX_FRAME` is dropped as garbled. Lines it does not understand are kept, never fatal.

use thiserror::Error;

use crate::status::{JobEnd, JobResult};

/// Universal Exit Language: leaves the page language and hands control to PJL.
pub const UEL: &[u8] = b"\x1b%-12345X";
/// Replies end with a form feed.
pub const FF: u8 = 0x0C;
/// The longest frame accepted before it is dropped as garbled.
pub const MAX_FRAME: usize = 16 * 1024;

/// A value that cannot go into a PJL command.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PjlError {
    /// Job names and echo tokens: 1-80 printable ASCII characters without `"`.
    #[error("{what} {value:?} must be 1 to 80 printable ASCII characters without quotes")]
    BadToken {
        /// Which value.
        what: &'static str,
        /// The value.
        value: String,
    },
}

fn check_token(what: &'static str, value: &str) -> Result<(), PjlError> {
    let ok = !value.is_empty()
        && value.len() <= 80
        && value
            .bytes()
            .all(|b| (0x20..0x7F).contains(&b) && b != b'"');
    if ok {
        Ok(())
    } else {
        Err(PjlError::BadToken {
            what,
            value: value.to_owned(),
        })
    }
}

/// `@PJL <command>` plus CR LF.
pub fn command(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + 7);
    out.extend_from_slice(b"@PJL ");
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(b"\r\n");
    out
}

/// A request framed for a stream that also carries unsolicited status: UEL, the command, then
/// `ECHO <token>` so the reader knows where the reply ends.
pub fn request(text: &str, token: &str) -> Result<Vec<u8>, PjlError> {
    check_token("echo token", token)?;
    let mut out = UEL.to_vec();
    out.extend_from_slice(b"@PJL\r\n");
    out.extend(command(text));
    out.extend(command(&format!("ECHO {token}")));
    out.extend_from_slice(UEL);
    Ok(out)
}

/// What the host wants reported while a job runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobOptions<'a> {
    /// The job's name (the station's attempt id); the printer repeats it in `USTATUS JOB`.
    pub name: &'a str,
    /// A unique token: input before its echo is stale.
    pub echo_token: &'a str,
    /// `USTATUS TIMED` heartbeat in seconds (5-300), or 0 for none.
    pub heartbeat_s: u16,
    /// A second token echoed after the job's last byte: its echo says the printer has read the
    /// whole job (the end of the transfer, as the printer sees it).
    pub end_token: Option<&'a str>,
}

/// The complete job: the envelope of the reference (§4) around the PCL bytes.
pub fn job(opts: &JobOptions<'_>, pcl: &[u8]) -> Result<Vec<u8>, PjlError> {
    check_token("job name", opts.name)?;
    check_token("echo token", opts.echo_token)?;
    let mut out = Vec::with_capacity(pcl.len() + 256);
    out.extend_from_slice(UEL);
    out.extend_from_slice(b"@PJL\r\n");
    out.extend(command(&format!("ECHO {}", opts.echo_token)));
    out.extend(command("USTATUS DEVICE = ON"));
    out.extend(command("USTATUS JOB = ON"));
    out.extend(command("USTATUS PAGE = ON"));
    if opts.heartbeat_s > 0 {
        out.extend(command(&format!(
            "USTATUS TIMED = {}",
            opts.heartbeat_s.clamp(5, 300)
        )));
    }
    out.extend(command(&format!("JOB NAME = \"{}\"", opts.name)));
    out.extend(command("ENTER LANGUAGE = PCL"));
    out.extend_from_slice(pcl);
    out.extend_from_slice(UEL);
    out.extend_from_slice(b"@PJL\r\n");
    out.extend(command(&format!("EOJ NAME = \"{}\"", opts.name)));
    if let Some(token) = opts.end_token {
        check_token("end token", token)?;
        out.extend(command(&format!("ECHO {token}")));
    }
    out.extend_from_slice(UEL);
    Ok(out)
}

/// The end of a job's envelope: leaves PCL and closes the job. Sent alone, after a job's data
/// was cut short, it ends the job at the printer (a host cancel).
pub fn end_of_job(name: &str) -> Result<Vec<u8>, PjlError> {
    check_token("job name", name)?;
    let mut out = UEL.to_vec();
    out.extend_from_slice(b"@PJL\r\n");
    out.extend(command(&format!("EOJ NAME = \"{name}\"")));
    out.extend_from_slice(UEL);
    Ok(out)
}

/// A device status report (`INFO STATUS`, `USTATUS DEVICE`, `USTATUS TIMED`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeviceStatus {
    /// `CODE=`, then `CODE2=`, ... in order.
    pub codes: Vec<u32>,
    /// `DISPLAY=` (panel text, for humans only).
    pub display: Option<String>,
    /// `ONLINE=`.
    pub online: Option<bool>,
}

/// One message from the printer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// `@PJL ECHO <token>`.
    Echo(String),
    /// `@PJL INFO ID` with the model name.
    InfoId(String),
    /// `@PJL INFO STATUS`.
    InfoStatus(DeviceStatus),
    /// `@PJL INFO PAGECOUNT`.
    PageCount(Option<u64>),
    /// `@PJL INFO CONFIG` (or another INFO category): the raw lines.
    Info {
        /// The category.
        category: String,
        /// The lines after the header.
        lines: Vec<String>,
    },
    /// `@PJL USTATUS DEVICE`.
    Device(DeviceStatus),
    /// `@PJL USTATUS TIMED` (heartbeat).
    Timed(DeviceStatus),
    /// `@PJL USTATUS JOB` `START`.
    JobStart {
        /// `NAME=`.
        name: String,
    },
    /// `@PJL USTATUS JOB` `END`.
    JobEnd(JobEnd),
    /// `@PJL USTATUS PAGE` with the sheet number.
    Page(u32),
    /// A frame this parser does not interpret (kept for the technician's console).
    Other {
        /// The header line after `@PJL `.
        header: String,
        /// The following lines.
        lines: Vec<String>,
    },
    /// Bytes that were not part of any frame, or a frame that was too long.
    Garbage(usize),
}

/// One message with the lines the printer sent for it, as it sent them (for a technician, who
/// compares them with the printer's manual). `lines` is empty for garbage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// What it means.
    pub message: Message,
    /// The frame's lines without their CR LF and the closing FF, header first.
    pub lines: Vec<String>,
}

/// The incremental printer → host parser.
#[derive(Debug, Default)]
pub struct ReplyParser {
    buf: Vec<u8>,
}

impl ReplyParser {
    /// A parser with nothing buffered.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds bytes; returns every message completed by them.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Message> {
        self.feed_frames(bytes)
            .into_iter()
            .map(|f| f.message)
            .collect()
    }

    /// Feeds bytes; returns every frame completed by them, each with its text.
    pub fn feed_frames(&mut self, bytes: &[u8]) -> Vec<Frame> {
        let garbage = |n| Frame {
            message: Message::Garbage(n),
            lines: Vec::new(),
        };
        self.buf.extend_from_slice(bytes);
        let mut out = Vec::new();
        loop {
            // Drop everything before the next "@PJL".
            let Some(start) = find(&self.buf, b"@PJL") else {
                // Keep a possible partial "@PJ" at the end.
                let keep = self.buf.len().min(3);
                let drop = self.buf.len() - keep;
                let dropped: usize = self.buf[..drop]
                    .iter()
                    .filter(|b| !b.is_ascii_whitespace() && **b != FF)
                    .count();
                if dropped > 0 {
                    out.push(garbage(dropped));
                }
                self.buf.drain(..drop);
                break;
            };
            if start > 0 {
                let dropped = self.buf[..start]
                    .iter()
                    .filter(|b| !b.is_ascii_whitespace() && **b != FF)
                    .count();
                if dropped > 0 {
                    out.push(garbage(dropped));
                }
                self.buf.drain(..start);
            }
            let end = self.buf.iter().position(|&b| b == FF);
            // A new "@PJL" before this frame's FF means this frame was cut short (line noise, a
            // printer reset): drop the fragment and resynchronise on the new frame.
            let next = find(&self.buf[4..], b"@PJL").map(|p| p + 4);
            if let Some(next) = next
                && end.is_none_or(|e| next < e)
            {
                out.push(garbage(next));
                self.buf.drain(..next);
                continue;
            }
            let Some(end) = end else {
                if self.buf.len() > MAX_FRAME {
                    out.push(garbage(self.buf.len()));
                    self.buf.clear();
                }
                break;
            };
            let frame: Vec<u8> = self.buf.drain(..=end).collect();
            if end > MAX_FRAME {
                out.push(garbage(frame.len()));
                continue;
            }
            out.push(Frame {
                message: parse_frame(&frame[..end]),
                lines: frame_lines(&frame[..end]),
            });
        }
        out
    }
}

/// A frame's lines as sent (lossy UTF-8, empty lines dropped).
fn frame_lines(frame: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(frame)
        .split(['\r', '\n'])
        .map(str::trim_end)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// `KEY=value` (value unquoted).
fn key_value(line: &str) -> Option<(String, String)> {
    let (k, v) = line.split_once('=')?;
    let v = v.trim();
    let v = v
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(v);
    Some((k.trim().to_ascii_uppercase(), v.to_owned()))
}

fn device_status(lines: &[String]) -> DeviceStatus {
    let mut s = DeviceStatus::default();
    for line in lines {
        let Some((k, v)) = key_value(line) else {
            continue;
        };
        if k == "CODE" || (k.starts_with("CODE") && k[4..].bytes().all(|b| b.is_ascii_digit())) {
            if let Ok(code) = v.parse() {
                s.codes.push(code);
            }
        } else if k == "DISPLAY" {
            s.display = Some(v);
        } else if k == "ONLINE" {
            s.online = Some(v.eq_ignore_ascii_case("TRUE"));
        }
    }
    s
}

fn parse_frame(frame: &[u8]) -> Message {
    let text = String::from_utf8_lossy(frame);
    let mut lines = text
        .split(['\r', '\n'])
        .map(str::trim_end)
        .filter(|l| !l.is_empty());
    let header = lines
        .next()
        .and_then(|h| h.strip_prefix("@PJL"))
        .map(str::trim)
        .unwrap_or("")
        .to_owned();
    let rest: Vec<String> = lines.map(str::to_owned).collect();
    let upper = header.to_ascii_uppercase();
    let mut words = upper.split_whitespace();
    match (words.next(), words.next()) {
        (Some("ECHO"), _) => Message::Echo(header.get(4..).unwrap_or("").trim().to_owned()),
        (Some("INFO"), Some("ID")) => Message::InfoId(
            rest.first()
                .map(|l| l.trim().trim_matches('"').to_owned())
                .unwrap_or_default(),
        ),
        (Some("INFO"), Some("STATUS")) => Message::InfoStatus(device_status(&rest)),
        (Some("INFO"), Some("PAGECOUNT")) => Message::PageCount(rest.first().and_then(|l| {
            let v = key_value(l).map_or(l.trim().to_owned(), |(_, v)| v);
            v.trim().parse().ok()
        })),
        (Some("INFO"), Some(category)) => Message::Info {
            category: category.to_owned(),
            lines: rest,
        },
        (Some("USTATUS"), Some("DEVICE")) => Message::Device(device_status(&rest)),
        (Some("USTATUS"), Some("TIMED")) => Message::Timed(device_status(&rest)),
        (Some("USTATUS"), Some("PAGE")) => match rest.first().and_then(|l| l.trim().parse().ok()) {
            Some(n) => Message::Page(n),
            None => Message::Other {
                header,
                lines: rest,
            },
        },
        (Some("USTATUS"), Some("JOB")) => {
            let event = rest.first().map(|l| l.trim().to_ascii_uppercase());
            let mut fields = std::collections::HashMap::new();
            for line in &rest {
                if let Some((k, v)) = key_value(line) {
                    fields.insert(k, v);
                }
            }
            let name = fields.get("NAME").cloned().unwrap_or_default();
            match event.as_deref() {
                Some("START") => Message::JobStart { name },
                Some("END") => Message::JobEnd(JobEnd {
                    name,
                    pages: fields.get("PAGES").and_then(|v| v.parse().ok()),
                    id: fields.get("ID").and_then(|v| v.parse().ok()),
                    result: fields.get("RESULT").map(|r| JobResult::parse(r)),
                }),
                _ => Message::Other {
                    header,
                    lines: rest,
                },
            }
        }
        _ => Message::Other {
            header,
            lines: rest,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_job_envelope_is_byte_exact() {
        let bytes = job(
            &JobOptions {
                name: "A-1",
                echo_token: "T42",
                heartbeat_s: 30,
                end_token: Some("T43"),
            },
            b"<PCL>",
        )
        .expect("valid");
        let expected: &[u8] = b"\x1b%-12345X@PJL\r\n@PJL ECHO T42\r\n@PJL USTATUS DEVICE = ON\r\n\
@PJL USTATUS JOB = ON\r\n@PJL USTATUS PAGE = ON\r\n@PJL USTATUS TIMED = 30\r\n\
@PJL JOB NAME = \"A-1\"\r\n@PJL ENTER LANGUAGE = PCL\r\n<PCL>\
\x1b%-12345X@PJL\r\n@PJL EOJ NAME = \"A-1\"\r\n@PJL ECHO T43\r\n\x1b%-12345X";
        assert_eq!(bytes, expected, "{}", String::from_utf8_lossy(&bytes));
        assert!(
            job(
                &JobOptions {
                    name: "a\"b",
                    echo_token: "T",
                    heartbeat_s: 0,
                    end_token: None,
                },
                b""
            )
            .is_err()
        );
        assert!(request("INFO ID", "").is_err());
    }

    #[test]
    fn parses_the_reference_replies() {
        let mut p = ReplyParser::new();
        let stream = b"@PJL INFO ID\r\n\"PSTATION SIM 1\"\r\n\x0c\
@PJL INFO STATUS\r\nCODE=10001\r\nDISPLAY=\"00 READY\"\r\nONLINE=TRUE\r\n\x0c\
@PJL USTATUS DEVICE\r\nCODE=40021\r\nDISPLAY=\"12 PRINTER OPEN\"\r\nONLINE=FALSE\r\nCODE2=10006\r\n\x0c\
@PJL USTATUS JOB\r\nSTART\r\nNAME=\"A-1\"\r\n\x0c\
@PJL USTATUS PAGE\r\n1\r\n\x0c\
@PJL USTATUS JOB\r\nEND\r\nNAME=\"A-1\"\r\nPAGES=1\r\nID=7\r\nRESULT=OK\r\n\x0c\
@PJL INFO PAGECOUNT\r\nPAGECOUNT=1234\r\n\x0c\
@PJL ECHO T42\r\n\x0c";
        let msgs = p.feed(stream);
        assert_eq!(
            msgs,
            [
                Message::InfoId("PSTATION SIM 1".into()),
                Message::InfoStatus(DeviceStatus {
                    codes: vec![10001],
                    display: Some("00 READY".into()),
                    online: Some(true)
                }),
                Message::Device(DeviceStatus {
                    codes: vec![40021, 10006],
                    display: Some("12 PRINTER OPEN".into()),
                    online: Some(false)
                }),
                Message::JobStart { name: "A-1".into() },
                Message::Page(1),
                Message::JobEnd(JobEnd {
                    name: "A-1".into(),
                    pages: Some(1),
                    id: Some(7),
                    result: Some(JobResult::Ok)
                }),
                Message::PageCount(Some(1234)),
                Message::Echo("T42".into()),
            ]
        );
    }

    #[test]
    fn a_frame_keeps_the_lines_as_the_printer_sent_them() {
        let mut p = ReplyParser::new();
        let frames = p.feed_frames(
            b"@PJL INFO STATUS\r\nCODE=10001\r\nDISPLAY=\"00 READY\"\r\nONLINE=TRUE\r\n\x0c",
        );
        assert_eq!(
            frames[0].lines,
            [
                "@PJL INFO STATUS",
                "CODE=10001",
                "DISPLAY=\"00 READY\"",
                "ONLINE=TRUE"
            ]
        );
        assert!(matches!(frames[0].message, Message::InfoStatus(_)));
    }

    #[test]
    fn frames_split_anywhere_and_garbage_around_them() {
        let stream = b"xx\x00@PJL ECHO A\r\n\x0cjunk@PJL INFO PAGECOUNT\r\n99\r\n\x0c";
        for split in 0..stream.len() {
            let mut p = ReplyParser::new();
            let mut msgs = p.feed(&stream[..split]);
            msgs.extend(p.feed(&stream[split..]));
            let real: Vec<_> = msgs
                .iter()
                .filter(|m| !matches!(m, Message::Garbage(_)))
                .collect();
            assert_eq!(
                real,
                [&Message::Echo("A".into()), &Message::PageCount(Some(99))],
                "split {split}"
            );
        }
    }

    #[test]
    fn a_frame_cut_short_is_dropped_and_the_next_one_parsed() {
        let mut p = ReplyParser::new();
        let msgs = p.feed(b"@PJL INFO ID\r\n\"PST\xa5\x0f@PJL ECHO AFTER\r\n\x0c");
        assert_eq!(msgs, [Message::Garbage(20), Message::Echo("AFTER".into())]);
    }

    #[test]
    fn an_endless_frame_is_dropped_as_garbage() {
        let mut p = ReplyParser::new();
        let mut msgs = p.feed(b"@PJL USTATUS DEVICE\r\n");
        msgs.extend(p.feed(&vec![b'A'; MAX_FRAME + 10]));
        assert!(matches!(msgs.last(), Some(Message::Garbage(_))));
        assert_eq!(p.feed(b"@PJL ECHO Z\r\n\x0c"), [Message::Echo("Z".into())]);
    }
}
