//! Sans-IO codec of serial MRZ document readers: the bytes a reader sends when a booklet is laid
//! on it, turned into documents (the MRZ lines it read), and the encoder the reader simulator
//! uses to send them.
//!
//! Design: nothing here performs I/O or keeps time. [`Decoder::push`] is fed bytes as they
//! arrive and returns [`Event`]s; [`Decoder::flush`] is called by the transport when the line
//! has been quiet for a while (a plain reader has no end-of-document marker when a line is
//! missing). Every input is accepted without panicking: bytes that do not fit the framing come
//! out as [`Event::Garbled`] with the offset of the byte where the problem was seen.
//!
//! The three serial forms ([`Framing`]):
//!
//! - **plain**: lines of `A-Z0-9<` ended by CR (or CR LF, or LF); one block per document; a
//!   block ends when it has the lines its first line's length calls for (44 → TD3, two lines;
//!   36 → TD2, two lines; 30 → TD1, three lines), at an empty line, or at [`Decoder::flush`].
//! - **cute** (IATA CUTE "Misc. Reader Interface", DESKO readers):
//!   `<SOD><STX>line1<CR>line2<CR>[line3<CR>]<ETX><EOD>`, lines of 7 to 44 characters, sent
//!   even when characters were not recognised.
//! - **rte** (3M / Thales RTE readers): `<SOH><len>"OU"<STX><flag>l1<CR>l2<CR>l3<CR><ETX><BCC>`,
//!   every line padded with `_` to 44, the bottom MRZ line always last (a two-line passport
//!   comes as a line of padding, then its two lines).
//!
//! What the public manuals did not give, and what this codec assumes instead (each is named in
//! `ARCHITECTURE.md` and can be changed here alone): DESKO's control-character table is in a
//! confidential document, so the decoder takes *any one byte* before STX as SOD and after ETX
//! as EOD unless the values are configured (`sod=`, `eod=`), and the encoder sends 0x1C / 0x1D
//! by default; for RTE, `len` is one byte counting the bytes from `O` through ETX, and the BCC
//! is the XOR of every byte after SOH through ETX (the longitudinal redundancy check of the
//! SOH-framed reader protocols that were public).
//!
//! Characters a reader could not recognise arrive as `_` or `?` (or as any byte outside
//! `A-Z0-9<`): a [`Document`] holds them all as `?`, so one rule finds them.

mod decode;
mod encode;
mod framing;
#[cfg(test)]
mod tests;

pub use decode::{Decoder, Document, Event, Garbled, GarbledKind};
pub use encode::encode;
pub use framing::{Framing, FramingError};

/// Start of heading: opens an RTE frame.
pub const SOH: u8 = 0x01;
/// Start of text: opens the lines of a CUTE or RTE frame.
pub const STX: u8 = 0x02;
/// End of text: closes the lines of a CUTE or RTE frame.
pub const ETX: u8 = 0x03;
/// Carriage return: ends every line.
pub const CR: u8 = 0x0D;
/// Line feed: tolerated after CR (plain readers set to CR LF).
pub const LF: u8 = 0x0A;

/// The longest line any reader sends (a TD3 line).
pub const MAX_LINE: usize = 44;
/// The most lines one document has (TD1).
pub const MAX_LINES: usize = 3;

/// The character a [`Document`] holds where the reader could not recognise one.
pub const UNREADABLE: char = '?';
