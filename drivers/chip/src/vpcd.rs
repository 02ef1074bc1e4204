//! The vpcd link codec (vsmartcard's virtual PC/SC reader): the virtual card connects to
//! `vpcd` (TCP port 35963 by default) and each message either way is a two-byte big-endian
//! length, then that many bytes. From the reader, a one-byte message is a control (0 power
//! off, 1 power on, 2 reset, 4 get ATR); anything longer is a command APDU. The card answers
//! "get ATR" with its ATR and an APDU with its response APDU, framed the same way.

/// The port `vpcd` listens on for a virtual card.
pub const DEFAULT_PORT: u16 = 35963;

/// A message from the reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// The reader powers the card off.
    PowerOff,
    /// The reader powers the card on.
    PowerOn,
    /// The reader resets the card.
    Reset,
    /// The reader asks for the ATR.
    GetAtr,
    /// A one-byte control this codec does not know (answered with nothing).
    Control(u8),
    /// A command APDU.
    Apdu(Vec<u8>),
}

/// Splits the reader's byte stream into messages.
#[derive(Debug, Default)]
pub struct Decoder {
    buf: Vec<u8>,
}

impl Decoder {
    /// A decoder with nothing buffered.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds bytes read from the link; returns every message now complete.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Message> {
        self.buf.extend_from_slice(bytes);
        let mut out = Vec::new();
        loop {
            if self.buf.len() < 2 {
                break;
            }
            let len = u16::from_be_bytes([self.buf[0], self.buf[1]]) as usize;
            if self.buf.len() < 2 + len {
                break;
            }
            let body: Vec<u8> = self.buf.drain(..2 + len).skip(2).collect();
            out.push(match body.as_slice() {
                [] => continue,
                [0] => Message::PowerOff,
                [1] => Message::PowerOn,
                [2] => Message::Reset,
                [4] => Message::GetAtr,
                [c] => Message::Control(*c),
                _ => Message::Apdu(body),
            });
        }
        out
    }
}

/// Frames `bytes` (an ATR or a response APDU) for the link.
pub fn encode(bytes: &[u8]) -> Vec<u8> {
    // A response APDU is at most 65538 bytes; longer input is cut to what the length holds.
    let len = bytes.len().min(u16::MAX as usize);
    let mut out = Vec::with_capacity(2 + len);
    out.extend_from_slice(&(len as u16).to_be_bytes());
    out.extend_from_slice(&bytes[..len]);
    out
}
