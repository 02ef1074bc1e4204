//! The encoder: the bytes a reader of each framing sends for a document (the reader simulator
//! sends these; the golden tests pin them).

use crate::{CR, ETX, Framing, MAX_LINE, MAX_LINES, SOH, STX};

/// The SOD byte the encoder sends when none is configured (our choice; see the crate docs).
pub const DEFAULT_SOD: u8 = 0x1C;
/// The EOD byte the encoder sends when none is configured (our choice; see the crate docs).
pub const DEFAULT_EOD: u8 = 0x1D;
/// The RTE flag byte the encoder sends.
pub const RTE_FLAG: u8 = b'0';

/// The bytes a reader with `framing` sends for a document of `lines` (top to bottom). Lines
/// are sent as given, with whatever a fault put in them; RTE keeps the bottom three lines, each
/// cut or padded with `_` to 44, with padding lines on top.
pub fn encode(framing: Framing, lines: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    match framing {
        Framing::Plain => {
            for line in lines {
                out.extend_from_slice(line.as_bytes());
                out.push(CR);
            }
        }
        Framing::Cute { sod, eod } => {
            out.push(sod.unwrap_or(DEFAULT_SOD));
            out.push(STX);
            for line in lines {
                out.extend_from_slice(line.as_bytes());
                out.push(CR);
            }
            out.push(ETX);
            out.push(eod.unwrap_or(DEFAULT_EOD));
        }
        Framing::Rte => {
            let kept = &lines[lines.len().saturating_sub(MAX_LINES)..];
            let mut body = b"OU".to_vec();
            body.push(STX);
            body.push(RTE_FLAG);
            for i in 0..MAX_LINES {
                let line = (i + kept.len())
                    .checked_sub(MAX_LINES)
                    .and_then(|k| kept.get(k))
                    .map_or(&b""[..], |l| l.as_bytes());
                let line = &line[..line.len().min(MAX_LINE)];
                body.extend_from_slice(line);
                body.extend(std::iter::repeat_n(b'_', MAX_LINE - line.len()));
                body.push(CR);
            }
            body.push(ETX);
            // At most 4 + 3 × 45 + 1 = 140 bytes: the length fits one byte.
            let len = u8::try_from(body.len()).unwrap_or(u8::MAX);
            let bcc = body.iter().fold(len, |acc, &x| acc ^ x);
            out.push(SOH);
            out.push(len);
            out.extend_from_slice(&body);
            out.push(bcc);
        }
    }
    out
}
