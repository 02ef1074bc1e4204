//! The card link: how APDUs reach the booklet's chip. A trait with three implementations — a
//! PC/SC reader (`libpcsclite` loaded at run time, through `pcscd`), the station's own vpcd
//! port that a virtual card connects to, and a direct call into a virtual card in this process
//! (unit tests, benchmarks). Every call blocks: the station runs checks on a blocking thread.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pstation_chip::card::Card;
use pstation_chip::vpcd;

use super::settings::ChipReader;

/// Why the link could not carry a command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, pstation_coded::Coded)]
pub enum LinkError {
    /// The reader (or PC/SC itself) is not there: nothing is wrong with the booklet.
    #[error("{0}")]
    #[code("chip-reader-unavailable")]
    Unavailable(String),
    /// No card is on the reader.
    #[error("no booklet is on the chip reader")]
    #[code("chip-absent")]
    NoCard,
    /// The card did not answer in time, or went away mid-exchange.
    #[error("the chip does not answer: {0}")]
    #[code("chip-no-answer")]
    NoAnswer(String),
}

/// A link to the card on one reader.
pub trait CardLink: Send {
    /// The reader's name, for logs and the console.
    fn name(&self) -> String;
    /// Powers the card up (a fresh session, access control closed); returns its ATR.
    fn connect(&mut self) -> Result<Vec<u8>, LinkError>;
    /// Sends a command APDU; returns the response APDU.
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, LinkError>;
    /// Ends the session (the card stays on the reader).
    fn disconnect(&mut self) {}
}

/// Opens the link the settings name.
pub fn open(reader: &ChipReader, timeout: Duration) -> Result<Box<dyn CardLink>, LinkError> {
    Ok(match reader {
        ChipReader::Pcsc(pattern) => Box::new(PcscLink::new(pattern)?),
        ChipReader::Vpcd(addr) => Box::new(VpcdPort::bind(*addr, timeout)?),
    })
}

/// A PC/SC reader, found by name pattern at each connect (a reader plugged in later is found).
pub struct PcscLink {
    lib: Arc<pstation_pcsc::Library>,
    pattern: String,
    card: Option<pstation_pcsc::Card>,
}

impl PcscLink {
    /// Loads the PC/SC library (the error says how to install it).
    pub fn new(pattern: &str) -> Result<Self, LinkError> {
        let lib =
            pstation_pcsc::Library::load().map_err(|e| LinkError::Unavailable(e.to_string()))?;
        Ok(Self {
            lib: Arc::new(lib),
            pattern: pattern.to_owned(),
            card: None,
        })
    }
}

fn pcsc_error(e: pstation_pcsc::PcscError) -> LinkError {
    use pstation_pcsc::PcscError as P;
    match e {
        P::NoCard => LinkError::NoCard,
        P::Unresponsive | P::CardRemoved => LinkError::NoAnswer(e.to_string()),
        P::Library(_) | P::NoService | P::NoReader(_) | P::Other { .. } => {
            LinkError::Unavailable(e.to_string())
        }
    }
}

impl CardLink for PcscLink {
    fn name(&self) -> String {
        format!("pcsc:{}", self.pattern)
    }

    fn connect(&mut self) -> Result<Vec<u8>, LinkError> {
        self.card = None;
        let ctx = pstation_pcsc::Context::establish(self.lib.clone()).map_err(pcsc_error)?;
        let reader = ctx.find_reader(&self.pattern).map_err(pcsc_error)?;
        let card = ctx.connect(&reader).map_err(pcsc_error)?;
        let atr = card.atr().unwrap_or_default();
        self.card = Some(card);
        Ok(atr)
    }

    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, LinkError> {
        let card = self
            .card
            .as_mut()
            .ok_or_else(|| LinkError::NoAnswer("not connected".to_owned()))?;
        card.transmit(apdu).map_err(pcsc_error)
    }

    fn disconnect(&mut self) {
        self.card = None;
    }
}

/// The station's own vpcd port: it listens where vsmartcard's `vpcd` would, a virtual card
/// connects, and the station plays the reader's side (power on, ATR, APDUs). The most recent
/// card to connect is the one on the reader.
pub struct VpcdPort {
    listener: TcpListener,
    addr: SocketAddr,
    conn: Option<TcpStream>,
    timeout: Duration,
}

impl VpcdPort {
    /// Listens on `addr`.
    pub fn bind(addr: SocketAddr, timeout: Duration) -> Result<Self, LinkError> {
        let listener = TcpListener::bind(addr).map_err(|e| {
            LinkError::Unavailable(format!(
                "cannot listen for a virtual card on {addr}: {e} — another program holds the port?"
            ))
        })?;
        listener
            .set_nonblocking(true)
            .map_err(|e| LinkError::Unavailable(e.to_string()))?;
        let addr = listener.local_addr().unwrap_or(addr);
        Ok(Self {
            listener,
            addr,
            conn: None,
            timeout,
        })
    }

    /// The address listened on (the port chosen when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Takes every card waiting to connect; the newest replaces the one held.
    fn accept_waiting(&mut self) {
        while let Ok((stream, _)) = self.listener.accept() {
            // Small messages one after another (power on, then get ATR): without this each
            // second one waits for the first's delayed ACK (Nagle), ~40 ms a check.
            let _ = stream.set_nodelay(true);
            self.conn = Some(stream);
        }
    }

    fn exchange(&mut self, message: &[u8], answer: bool) -> Result<Vec<u8>, LinkError> {
        let timeout = self.timeout;
        let conn = self.conn.as_mut().ok_or(LinkError::NoCard)?;
        let lost = |e: std::io::Error| LinkError::NoAnswer(e.to_string());
        conn.set_nonblocking(false).map_err(lost)?;
        conn.set_read_timeout(Some(timeout)).map_err(lost)?;
        conn.write_all(&vpcd::encode(message)).map_err(lost)?;
        if !answer {
            return Ok(Vec::new());
        }
        let mut len = [0u8; 2];
        conn.read_exact(&mut len).map_err(lost)?;
        let mut body = vec![0u8; u16::from_be_bytes(len) as usize];
        conn.read_exact(&mut body).map_err(lost)?;
        Ok(body)
    }
}

impl CardLink for VpcdPort {
    fn name(&self) -> String {
        format!("vpcd://{}", self.addr)
    }

    fn connect(&mut self) -> Result<Vec<u8>, LinkError> {
        let deadline = Instant::now() + self.timeout;
        loop {
            self.accept_waiting();
            if self.conn.is_some() {
                // A card that went away since the last check fails here; the next one waiting
                // (if any) is tried until the deadline.
                let atr = self
                    .exchange(&[1], false)
                    .and_then(|_| self.exchange(&[4], true));
                match atr {
                    Ok(atr) => return Ok(atr),
                    Err(_) => self.conn = None,
                }
            }
            if Instant::now() >= deadline {
                return Err(LinkError::NoCard);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, LinkError> {
        let answer = self.exchange(apdu, true);
        if answer.is_err() {
            self.conn = None;
        }
        answer
    }

    fn disconnect(&mut self) {
        // Power the card off; it stays connected (on the reader) for the next check.
        if self.exchange(&[0], false).is_err() {
            self.conn = None;
        }
    }
}

/// A virtual card called directly (unit tests, benchmarks).
pub struct DirectLink {
    /// The card on the "reader" (`None`: nothing there).
    pub card: Option<Card>,
}

impl CardLink for DirectLink {
    fn name(&self) -> String {
        "direct".to_owned()
    }

    fn connect(&mut self) -> Result<Vec<u8>, LinkError> {
        let card = self.card.as_mut().ok_or(LinkError::NoCard)?;
        card.reset();
        Ok(pstation_chip::card::ATR.to_vec())
    }

    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, LinkError> {
        let card = self.card.as_mut().ok_or(LinkError::NoCard)?;
        card.transmit(apdu)
            .ok_or_else(|| LinkError::NoAnswer("the chip stayed mute".to_owned()))
    }
}
