//! A small PC/SC client that loads `libpcsclite.so.1` at run time: establish a context with
//! `pcscd`, list its readers, connect to the card on one, exchange APDUs.
//!
//! Why not the `pcsc` crate: it links `libpcsclite` at build time, so a machine without the
//! development files (`libpcsclite-dev`) could not even build the station. Loaded at run time,
//! the same binary runs everywhere; where the library or the service is missing the station
//! says which ([`PcscError::Library`], [`PcscError::NoService`]) and runs without chip checks.
//!
//! The C calls live in `ffi` alone; each `unsafe` block states why it is sound.

mod ffi;

use std::sync::Arc;

pub use ffi::Library;

/// What can go wrong talking PC/SC.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PcscError {
    /// `libpcsclite.so.1` could not be loaded.
    #[error(
        "the PC/SC library could not be loaded ({0}); install it (Debian: libpcsclite1) and pcscd"
    )]
    Library(String),
    /// `pcscd` is not running.
    #[error("the PC/SC service is not running; start pcscd (systemctl start pcscd.socket)")]
    NoService,
    /// No reader is attached (or none matches the configured name).
    #[error("no smart-card reader {0}")]
    NoReader(String),
    /// The reader has no card on it.
    #[error("no card is on the reader")]
    NoCard,
    /// The card was removed or reset during the exchange.
    #[error("the card was removed or reset during the exchange")]
    CardRemoved,
    /// The card does not answer.
    #[error("the card does not answer")]
    Unresponsive,
    /// Another PC/SC error, with its code.
    #[error("PC/SC {call} failed with {code:#010X}")]
    Other {
        /// The call.
        call: &'static str,
        /// The PC/SC return code.
        code: u32,
    },
}

impl PcscError {
    fn from_code(call: &'static str, code: u32) -> Self {
        match code {
            0x8010_001D | 0x8010_001E => Self::NoService,
            0x8010_002E => Self::NoReader("is attached".into()),
            0x8010_0009 | 0x8010_0017 => Self::NoReader("by that name is attached".into()),
            0x8010_000C => Self::NoCard,
            0x8010_0066 | 0x8010_0067 => Self::Unresponsive,
            0x8010_0068 | 0x8010_0069 => Self::CardRemoved,
            code => Self::Other { call, code },
        }
    }
}

/// A PC/SC context: the connection to `pcscd`.
#[derive(Clone)]
pub struct Context {
    inner: Arc<Inner>,
}

struct Inner {
    lib: Arc<Library>,
    handle: ffi::Handle,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.lib.release(self.handle);
    }
}

impl Context {
    /// Establishes a context (system scope).
    pub fn establish(lib: Arc<Library>) -> Result<Self, PcscError> {
        let handle = lib.establish()?;
        Ok(Self {
            inner: Arc::new(Inner { lib, handle }),
        })
    }

    /// The names of the readers `pcscd` knows (empty when there are none).
    pub fn readers(&self) -> Result<Vec<String>, PcscError> {
        match self.inner.lib.list_readers(self.inner.handle) {
            Err(PcscError::NoReader(_)) => Ok(Vec::new()),
            other => other,
        }
    }

    /// The first reader whose name contains `pattern` (case-insensitive).
    pub fn find_reader(&self, pattern: &str) -> Result<String, PcscError> {
        let want = pattern.to_lowercase();
        self.readers()?
            .into_iter()
            .find(|r| r.to_lowercase().contains(&want))
            .ok_or_else(|| PcscError::NoReader(format!("matching \"{pattern}\" is attached")))
    }

    /// Connects to the card on `reader` (exclusively, T=0 or T=1).
    pub fn connect(&self, reader: &str) -> Result<Card, PcscError> {
        let (handle, protocol) = self.inner.lib.connect(self.inner.handle, reader)?;
        Ok(Card {
            ctx: self.inner.clone(),
            handle,
            protocol,
        })
    }
}

/// A connection to the card on a reader (it keeps its context alive).
pub struct Card {
    ctx: Arc<Inner>,
    handle: ffi::Handle,
    protocol: u64,
}

impl Card {
    /// Sends a command APDU and returns the response APDU (body and status word).
    pub fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, PcscError> {
        self.ctx.lib.transmit(self.handle, self.protocol, apdu)
    }

    /// The card's ATR.
    pub fn atr(&self) -> Result<Vec<u8>, PcscError> {
        self.ctx.lib.atr(self.handle)
    }
}

impl Drop for Card {
    fn drop(&mut self) {
        // Reset on the way out: the next session starts with the chip's access control closed.
        self.ctx.lib.disconnect(self.handle);
    }
}
