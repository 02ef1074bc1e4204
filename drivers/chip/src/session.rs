//! The reading session, sans-IO: select the eMRTD application, open it with an access protocol
//! (the [`Access`] trait: BAC today, PACE designed to plug in), then select and read each file
//! under secure messaging. The caller moves APDUs: [`Session::next`] takes the card's response
//! to the last command and returns the next command to send, or the files read.

use std::collections::BTreeMap;

use crate::ChipError;
use crate::apdu::{Command, Response, header_len, sw};
use crate::sm::Channel;

/// The eMRTD application identifier (ICAO 9303 Part 10 §3.10).
pub const AID: [u8; 7] = [0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01];

/// How many bytes one READ BINARY asks for: with 3DES secure messaging the protected answer
/// (`87` with up to 224 bytes of cryptogram, `99`, `8E`, the status word) stays within a short
/// response APDU's 256 bytes.
pub const CHUNK: usize = 0xDF;

/// The LDS files, by short file identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum File {
    /// EF.COM (`011E`): the LDS version and the data groups present.
    Com,
    /// EF.DG1 (`0101`): the MRZ.
    Dg1,
    /// EF.DG2 (`0102`): the encoded face.
    Dg2,
    /// EF.SOD (`011D`): the Document Security Object.
    Sod,
}

impl File {
    /// The file identifier.
    pub fn fid(self) -> [u8; 2] {
        match self {
            File::Com => [0x01, 0x1E],
            File::Dg1 => [0x01, 0x01],
            File::Dg2 => [0x01, 0x02],
            File::Sod => [0x01, 0x1D],
        }
    }

    /// The file's name as ICAO writes it.
    pub fn name(self) -> &'static str {
        match self {
            File::Com => "EF.COM",
            File::Dg1 => "EF.DG1",
            File::Dg2 => "EF.DG2",
            File::Sod => "EF.SOD",
        }
    }

    /// The file with this identifier, if it is one the station reads.
    pub fn from_fid(fid: [u8; 2]) -> Option<Self> {
        [File::Com, File::Dg1, File::Dg2, File::Sod]
            .into_iter()
            .find(|f| f.fid() == fid)
    }
}

/// One step of an access protocol.
pub enum AccessStep {
    /// Send this command and call [`Access::step`] with the answer.
    Transmit(Command),
    /// Access granted: the secure channel for the rest of the session.
    Open(Box<dyn Channel>),
}

/// An access protocol (BAC; PACE would be another): a little state machine that turns the
/// chip's answers into its next command, until it opens a secure channel.
pub trait Access: Send {
    /// The protocol's name (`BAC`, `PACE`), for the check's report.
    fn name(&self) -> &'static str;
    /// The next step, given the answer to the last command (`None` at the start).
    fn step(&mut self, response: Option<&Response>) -> Result<AccessStep, ChipError>;
}

/// What the session does next.
#[derive(Debug)]
pub enum Step {
    /// Send these bytes (a command APDU) to the card and pass its answer to [`Session::next`].
    Transmit(Vec<u8>),
    /// Every file was read (a file the chip does not have is absent from the map).
    Done(BTreeMap<File, Vec<u8>>),
}

enum State {
    Start,
    SelectApp,
    Access,
    SelectFile(usize),
    ReadHead(usize),
    ReadRest { file: usize, total: usize },
    Done,
}

/// The reading session.
pub struct Session {
    access: Box<dyn Access>,
    channel: Option<Box<dyn Channel>>,
    files: Vec<File>,
    required: Vec<File>,
    read: BTreeMap<File, Vec<u8>>,
    state: State,
}

impl Session {
    /// A session that opens the chip with `access` and reads `files` in order; a file in
    /// `required` that the chip does not have ends the session with an error.
    pub fn new(access: Box<dyn Access>, files: &[File], required: &[File]) -> Self {
        Self {
            access,
            channel: None,
            files: files.to_vec(),
            required: required.to_vec(),
            read: BTreeMap::new(),
            state: State::Start,
        }
    }

    /// The access protocol's name.
    pub fn access_name(&self) -> &'static str {
        self.access.name()
    }

    /// The next step, given the card's answer to the last command sent (`None` the first time).
    pub fn next(&mut self, answer: Option<&[u8]>) -> Result<Step, ChipError> {
        let raw = answer.map(Response::parse).transpose()?;
        match std::mem::replace(&mut self.state, State::Done) {
            State::Start => {
                self.state = State::SelectApp;
                Ok(Step::Transmit(
                    Command::new(0x00, 0xA4, 0x04, 0x0C).with_data(AID).encode(),
                ))
            }
            State::SelectApp => {
                let resp = raw.ok_or(ChipError::NoAnswer)?;
                if !resp.ok() {
                    return Err(ChipError::NotAnEmrtd { sw: resp.sw });
                }
                self.state = State::Access;
                self.access_step(None)
            }
            State::Access => {
                let resp = raw.ok_or(ChipError::NoAnswer)?;
                self.access_step(Some(&resp))
            }
            State::SelectFile(i) => {
                let resp = self.unprotect(raw)?;
                let file = self.files[i];
                if resp.sw == sw::NOT_FOUND && !self.required.contains(&file) {
                    return self.select(i + 1);
                }
                if !resp.ok() {
                    return Err(ChipError::File {
                        file: file.name(),
                        sw: resp.sw,
                    });
                }
                self.state = State::ReadHead(i);
                self.transmit(Command::new(0x00, 0xB0, 0x00, 0x00).with_le(4))
            }
            State::ReadHead(i) => {
                let resp = self.unprotect(raw)?;
                let file = self.files[i];
                if !resp.ok() && resp.sw != sw::END_OF_FILE {
                    return Err(ChipError::File {
                        file: file.name(),
                        sw: resp.sw,
                    });
                }
                // Tag (one byte for every LDS file) and length tell the file's size.
                let total = resp
                    .data
                    .get(1..)
                    .and_then(header_len)
                    .map(|(len, took)| 1 + took + len)
                    .ok_or(ChipError::Malformed {
                        what: file.name(),
                        why: "its first bytes are not a tag and a length",
                    })?;
                self.read.insert(file, resp.data);
                self.read_more(i, total)
            }
            State::ReadRest { file: i, total } => {
                let resp = self.unprotect(raw)?;
                let file = self.files[i];
                if !resp.ok() && resp.sw != sw::END_OF_FILE {
                    return Err(ChipError::File {
                        file: file.name(),
                        sw: resp.sw,
                    });
                }
                if resp.data.is_empty() {
                    return Err(ChipError::Malformed {
                        what: file.name(),
                        why: "the chip returned no bytes before the file's declared end",
                    });
                }
                let have = self.read.entry(file).or_default();
                have.extend_from_slice(&resp.data);
                if have.len() > total {
                    have.truncate(total);
                }
                self.read_more(i, total)
            }
            State::Done => Err(ChipError::Malformed {
                what: "reading session",
                why: "called again after it ended",
            }),
        }
    }

    fn access_step(&mut self, resp: Option<&Response>) -> Result<Step, ChipError> {
        match self.access.step(resp)? {
            AccessStep::Transmit(cmd) => {
                self.state = State::Access;
                Ok(Step::Transmit(cmd.encode()))
            }
            AccessStep::Open(channel) => {
                self.channel = Some(channel);
                self.select(0)
            }
        }
    }

    fn select(&mut self, i: usize) -> Result<Step, ChipError> {
        let Some(file) = self.files.get(i) else {
            self.state = State::Done;
            return Ok(Step::Done(std::mem::take(&mut self.read)));
        };
        self.state = State::SelectFile(i);
        self.transmit(Command::new(0x00, 0xA4, 0x02, 0x0C).with_data(file.fid()))
    }

    fn read_more(&mut self, i: usize, total: usize) -> Result<Step, ChipError> {
        let have = self.read.get(&self.files[i]).map_or(0, Vec::len);
        if have >= total {
            return self.select(i + 1);
        }
        if have > 0x7FFF {
            return Err(ChipError::Malformed {
                what: self.files[i].name(),
                why: "longer than READ BINARY with a 15-bit offset reaches",
            });
        }
        let [p1, p2] = (have as u16).to_be_bytes();
        self.state = State::ReadRest { file: i, total };
        self.transmit(Command::new(0x00, 0xB0, p1, p2).with_le(CHUNK.min(total - have)))
    }

    fn transmit(&mut self, cmd: Command) -> Result<Step, ChipError> {
        let channel = self.channel.as_mut().ok_or(ChipError::Malformed {
            what: "reading session",
            why: "a file command before the secure channel opened",
        })?;
        Ok(Step::Transmit(channel.protect(&cmd).encode()))
    }

    fn unprotect(&mut self, raw: Option<Response>) -> Result<Response, ChipError> {
        let resp = raw.ok_or(ChipError::NoAnswer)?;
        let channel = self.channel.as_mut().ok_or(ChipError::Malformed {
            what: "reading session",
            why: "a file answer before the secure channel opened",
        })?;
        channel.unprotect(&resp)
    }
}
