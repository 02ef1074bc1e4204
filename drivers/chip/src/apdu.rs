//! ISO/IEC 7816-4 command and response APDUs: encoding (short and extended length) and parsing,
//! the status words the station names, and the few BER-TLV helpers secure messaging and the LDS
//! need.

use crate::ChipError;

/// A command APDU: class, instruction, parameters, data, and the expected response length
/// (`le`: `Some(0)` means "as much as there is", 256 short / 65536 extended).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// CLA.
    pub cla: u8,
    /// INS.
    pub ins: u8,
    /// P1.
    pub p1: u8,
    /// P2.
    pub p2: u8,
    /// The command data (Lc is its length).
    pub data: Vec<u8>,
    /// Le, when a response body is expected.
    pub le: Option<usize>,
}

impl Command {
    /// A command with no data and no response body.
    pub fn new(cla: u8, ins: u8, p1: u8, p2: u8) -> Self {
        Self {
            cla,
            ins,
            p1,
            p2,
            data: Vec::new(),
            le: None,
        }
    }

    /// With command data.
    pub fn with_data(mut self, data: impl Into<Vec<u8>>) -> Self {
        self.data = data.into();
        self
    }

    /// With an expected response length.
    pub fn with_le(mut self, le: usize) -> Self {
        self.le = Some(le);
        self
    }

    /// The bytes on the wire: short form when Lc ≤ 255 and Le ≤ 256, extended otherwise.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![self.cla, self.ins, self.p1, self.p2];
        let extended = self.data.len() > 255 || self.le.is_some_and(|le| le > 256);
        if extended {
            out.push(0);
            if !self.data.is_empty() {
                out.extend_from_slice(&(self.data.len() as u16).to_be_bytes());
                out.extend_from_slice(&self.data);
            }
            if let Some(le) = self.le {
                let le = if le >= 65536 { 0 } else { le as u16 };
                out.extend_from_slice(&le.to_be_bytes());
            }
        } else {
            if !self.data.is_empty() {
                out.push(self.data.len() as u8);
                out.extend_from_slice(&self.data);
            }
            if let Some(le) = self.le {
                out.push(if le >= 256 { 0 } else { le as u8 });
            }
        }
        out
    }

    /// Parses a command APDU (the four cases, short and extended).
    pub fn parse(bytes: &[u8]) -> Result<Self, ChipError> {
        let malformed = |why: &'static str| ChipError::Malformed {
            what: "command APDU",
            why,
        };
        if bytes.len() < 4 {
            return Err(malformed("shorter than its 4-byte header"));
        }
        let mut cmd = Command::new(bytes[0], bytes[1], bytes[2], bytes[3]);
        let body = &bytes[4..];
        match body.len() {
            0 => {}
            1 => cmd.le = Some(if body[0] == 0 { 256 } else { body[0] as usize }),
            _ if body[0] != 0 => {
                let lc = body[0] as usize;
                match body.len() - 1 {
                    n if n == lc => cmd.data = body[1..].to_vec(),
                    n if n == lc + 1 => {
                        cmd.data = body[1..=lc].to_vec();
                        let le = body[lc + 1];
                        cmd.le = Some(if le == 0 { 256 } else { le as usize });
                    }
                    _ => return Err(malformed("Lc does not match the length of the data")),
                }
            }
            2 => return Err(malformed("cut inside an extended length")),
            3 => {
                let le = u16::from_be_bytes([body[1], body[2]]) as usize;
                cmd.le = Some(if le == 0 { 65536 } else { le });
            }
            _ => {
                let lc = u16::from_be_bytes([body[1], body[2]]) as usize;
                let rest = &body[3..];
                if rest.len() == lc {
                    cmd.data = rest.to_vec();
                } else if rest.len() == lc + 2 {
                    cmd.data = rest[..lc].to_vec();
                    let le = u16::from_be_bytes([rest[lc], rest[lc + 1]]) as usize;
                    cmd.le = Some(if le == 0 { 65536 } else { le });
                } else {
                    return Err(malformed(
                        "extended Lc does not match the length of the data",
                    ));
                }
            }
        }
        Ok(cmd)
    }
}

/// A response APDU: the body and the status word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The response body.
    pub data: Vec<u8>,
    /// SW1 SW2.
    pub sw: u16,
}

impl Response {
    /// A response with a body and a status word.
    pub fn new(data: impl Into<Vec<u8>>, sw: u16) -> Self {
        Self {
            data: data.into(),
            sw,
        }
    }

    /// A bare status word.
    pub fn status(sw: u16) -> Self {
        Self::new(Vec::new(), sw)
    }

    /// The bytes on the wire.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.data.clone();
        out.extend_from_slice(&self.sw.to_be_bytes());
        out
    }

    /// Parses a response APDU (at least the two status bytes).
    pub fn parse(bytes: &[u8]) -> Result<Self, ChipError> {
        if bytes.len() < 2 {
            return Err(ChipError::Malformed {
                what: "response APDU",
                why: "shorter than its 2-byte status word",
            });
        }
        let (data, sw) = bytes.split_at(bytes.len() - 2);
        Ok(Self::new(data, u16::from_be_bytes([sw[0], sw[1]])))
    }

    /// Whether the status word is 90 00.
    pub fn ok(&self) -> bool {
        self.sw == sw::OK
    }
}

/// Status words the station and the virtual card use.
pub mod sw {
    /// Normal processing.
    pub const OK: u16 = 0x9000;
    /// End of file reached before reading Le bytes.
    pub const END_OF_FILE: u16 = 0x6282;
    /// Authentication failed (MUTUAL AUTHENTICATE's cryptogram or MAC did not verify).
    pub const AUTH_FAILED: u16 = 0x6300;
    /// Wrong length.
    pub const WRONG_LENGTH: u16 = 0x6700;
    /// Security status not satisfied (a file read before access control).
    pub const SECURITY: u16 = 0x6982;
    /// Conditions of use not satisfied (e.g. MUTUAL AUTHENTICATE without GET CHALLENGE).
    pub const CONDITIONS: u16 = 0x6985;
    /// Secure messaging data objects missing.
    pub const SM_MISSING: u16 = 0x6987;
    /// Secure messaging data objects incorrect (the MAC did not verify).
    pub const SM_INCORRECT: u16 = 0x6988;
    /// Wrong data.
    pub const WRONG_DATA: u16 = 0x6A80;
    /// File or application not found.
    pub const NOT_FOUND: u16 = 0x6A82;
    /// Offset outside the file.
    pub const WRONG_OFFSET: u16 = 0x6B00;
    /// Instruction not supported.
    pub const INS_UNKNOWN: u16 = 0x6D00;
    /// Class not supported.
    pub const CLA_UNKNOWN: u16 = 0x6E00;
}

/// Appends a BER-TLV length (short form, or `81`/`82` long form).
pub fn push_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else if len < 0x100 {
        out.extend_from_slice(&[0x81, len as u8]);
    } else if len < 0x10000 {
        out.push(0x82);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0x83);
        out.extend_from_slice(&(len as u32).to_be_bytes()[1..]);
    }
}

/// A BER-TLV data object `tag ‖ length ‖ value` (one- or two-byte tags).
pub fn tlv(tag: u16, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 6);
    if tag > 0xFF {
        out.extend_from_slice(&tag.to_be_bytes());
    } else {
        out.push(tag as u8);
    }
    push_len(&mut out, value.len());
    out.extend_from_slice(value);
    out
}

/// One BER-TLV element read from the front of `bytes`: its tag (one or two bytes), its value,
/// and how many bytes it took.
pub fn read_tlv(bytes: &[u8]) -> Result<(u16, &[u8], usize), ChipError> {
    let malformed = |why: &'static str| ChipError::Malformed {
        what: "BER-TLV data object",
        why,
    };
    let first = *bytes.first().ok_or(malformed("empty"))?;
    let (tag, mut at) = if first & 0x1F == 0x1F {
        let second = *bytes.get(1).ok_or(malformed("cut inside its tag"))?;
        (u16::from_be_bytes([first, second]), 2)
    } else {
        (first as u16, 1)
    };
    let (len, took) = header_len(&bytes[at..]).ok_or(malformed("cut inside its length"))?;
    at += took;
    let end = at
        .checked_add(len)
        .filter(|&e| e <= bytes.len())
        .ok_or(malformed("its length runs past the end of the data"))?;
    Ok((tag, &bytes[at..end], end))
}

/// A BER length at the front of `bytes`: (length, bytes it took); `None` when cut or longer
/// than three length bytes.
pub fn header_len(bytes: &[u8]) -> Option<(usize, usize)> {
    let first = *bytes.first()?;
    if first < 0x80 {
        return Some((first as usize, 1));
    }
    let n = (first & 0x7F) as usize;
    if n == 0 || n > 3 || bytes.len() < 1 + n {
        return None;
    }
    let len = bytes[1..=n]
        .iter()
        .fold(0usize, |acc, &b| (acc << 8) | b as usize);
    Some((len, 1 + n))
}

/// Every top-level data object of `bytes`, in order.
pub fn read_all(mut bytes: &[u8]) -> Result<Vec<(u16, &[u8])>, ChipError> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let (tag, value, took) = read_tlv(bytes)?;
        out.push((tag, value));
        bytes = &bytes[took..];
    }
    Ok(out)
}
