//! Secure messaging with 3DES session keys (ICAO 9303 Part 11 §9.8, ISO/IEC 7816-4): the
//! inspection system protects commands and checks responses; the chip (the virtual card) checks
//! commands and protects responses. Data objects: `87` (padding indicator ‖ encrypted data),
//! `97` (Le), `99` (status word), `8E` (the MAC over the send sequence counter and the rest).

use crate::ChipError;
use crate::apdu::{Command, Response, read_all, sw, tlv};
use crate::crypto::{self, Key16};

/// A secure channel as the reading session uses it; BAC's 3DES channel is [`SecureChannel`],
/// PACE's AES channel would be another implementation.
pub trait Channel: Send {
    /// The protected form of a plain command (increments the counter).
    fn protect(&mut self, cmd: &Command) -> Command;
    /// The plain response of a protected one: MAC checked, data decrypted (increments the
    /// counter). A response that is not protected (a bare error status word) is returned as
    /// it is: the chip ends secure messaging when it answers that way.
    fn unprotect(&mut self, resp: &Response) -> Result<Response, ChipError>;
}

/// The 3DES secure channel: session keys and the send sequence counter.
pub struct SecureChannel {
    enc: Key16,
    mac: Key16,
    ssc: u64,
}

impl std::fmt::Debug for SecureChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecureChannel")
            .field("ssc", &format_args!("{:016X}", self.ssc))
            .finish_non_exhaustive()
    }
}

impl SecureChannel {
    /// A channel with session keys KS_enc, KS_mac and the starting counter.
    pub fn new(enc: Key16, mac: Key16, ssc: u64) -> Self {
        Self { enc, mac, ssc }
    }

    /// The send sequence counter now.
    pub fn ssc(&self) -> u64 {
        self.ssc
    }

    /// The session keys (KS_enc, KS_mac), for the worked example's golden test.
    pub fn keys(&self) -> (&Key16, &Key16) {
        (&self.enc, &self.mac)
    }

    fn next_mac(&mut self, parts: &[&[u8]]) -> [u8; 8] {
        self.ssc = self.ssc.wrapping_add(1);
        let mut input = self.ssc.to_be_bytes().to_vec();
        for p in parts {
            input.extend_from_slice(p);
        }
        crypto::mac(&self.mac, &input)
    }

    fn encrypted_object(&self, data: &[u8]) -> Vec<u8> {
        let mut value = vec![0x01];
        value.extend_from_slice(&crypto::encrypt(&self.enc, &crypto::pad(data)));
        tlv(0x87, &value)
    }

    fn decrypt_object(&self, value: &[u8]) -> Result<Vec<u8>, ChipError> {
        let bad = |why: &'static str| ChipError::SecureMessaging { why };
        let (&indicator, cryptogram) = value.split_first().ok_or(bad("empty data object 87"))?;
        if indicator != 0x01 {
            return Err(bad("data object 87 without padding indicator 01"));
        }
        let plain =
            crypto::decrypt(&self.enc, cryptogram).ok_or(bad("cryptogram not whole blocks"))?;
        crypto::unpad(&plain)
            .map(<[u8]>::to_vec)
            .ok_or(bad("decrypted data not padded"))
    }

    /// The chip's side: the plain command inside a protected one, the MAC checked. The error
    /// is the status word to answer (`69 87` objects missing, `69 88` objects incorrect).
    pub fn unwrap_command(&mut self, cmd: &Command) -> Result<Command, u16> {
        if cmd.cla & 0x0C != 0x0C {
            return Err(sw::SM_MISSING);
        }
        let objects = read_all(&cmd.data).map_err(|_| sw::SM_INCORRECT)?;
        let mut do87 = None;
        let mut do97 = None;
        let mut do8e = None;
        for (tag, value) in &objects {
            match tag {
                0x87 => do87 = Some(*value),
                0x97 => do97 = Some(*value),
                0x8E => do8e = Some(*value),
                _ => return Err(sw::SM_INCORRECT),
            }
        }
        let Some(mac) = do8e else {
            return Err(sw::SM_MISSING);
        };
        let header = crypto::pad(&[cmd.cla, cmd.ins, cmd.p1, cmd.p2]);
        let e87 = do87.map(|v| tlv(0x87, v)).unwrap_or_default();
        let e97 = do97.map(|v| tlv(0x97, v)).unwrap_or_default();
        let expected = self.next_mac(&[&header, &e87, &e97]);
        if !crypto::same_mac(&expected, mac) {
            return Err(sw::SM_INCORRECT);
        }
        let data = match do87 {
            Some(v) => self.decrypt_object(v).map_err(|_| sw::SM_INCORRECT)?,
            None => Vec::new(),
        };
        let le = match do97 {
            None => None,
            Some([0]) => Some(256),
            Some([n]) => Some(*n as usize),
            Some([0, 0]) => Some(65536),
            Some([a, b]) => Some(u16::from_be_bytes([*a, *b]) as usize),
            Some(_) => return Err(sw::SM_INCORRECT),
        };
        Ok(Command {
            cla: cmd.cla & !0x0C,
            ins: cmd.ins,
            p1: cmd.p1,
            p2: cmd.p2,
            data,
            le,
        })
    }

    /// The chip's side: a plain response protected (`87` when there is data, `99`, `8E`).
    pub fn wrap_response(&mut self, resp: &Response) -> Response {
        let e87 = if resp.data.is_empty() {
            Vec::new()
        } else {
            self.encrypted_object(&resp.data)
        };
        let e99 = tlv(0x99, &resp.sw.to_be_bytes());
        let mac = self.next_mac(&[&e87, &e99]);
        let mut body = e87;
        body.extend_from_slice(&e99);
        body.extend_from_slice(&tlv(0x8E, &mac));
        Response::new(body, resp.sw)
    }
}

impl Channel for SecureChannel {
    fn protect(&mut self, cmd: &Command) -> Command {
        let cla = cmd.cla | 0x0C;
        let header = crypto::pad(&[cla, cmd.ins, cmd.p1, cmd.p2]);
        let e87 = if cmd.data.is_empty() {
            Vec::new()
        } else {
            self.encrypted_object(&cmd.data)
        };
        let e97 = match cmd.le {
            None => Vec::new(),
            Some(le) if le <= 256 => tlv(0x97, &[if le == 256 { 0 } else { le as u8 }]),
            Some(le) => tlv(
                0x97,
                &(if le >= 65536 { 0 } else { le as u16 }).to_be_bytes(),
            ),
        };
        let mac = self.next_mac(&[&header, &e87, &e97]);
        let mut data = e87;
        data.extend_from_slice(&e97);
        data.extend_from_slice(&tlv(0x8E, &mac));
        Command {
            cla,
            ins: cmd.ins,
            p1: cmd.p1,
            p2: cmd.p2,
            data,
            le: Some(256),
        }
    }

    fn unprotect(&mut self, resp: &Response) -> Result<Response, ChipError> {
        let bad = |why: &'static str| ChipError::SecureMessaging { why };
        if resp.data.is_empty() {
            // A plain status word: the chip refused before (or instead of) protecting — only an
            // error may come so (ICAO 9303-11 §9.8.6); a bare success could come from anyone.
            if resp.sw == sw::OK || resp.sw >> 8 == 0x62 {
                return Err(bad("a success answered without secure messaging"));
            }
            self.ssc = self.ssc.wrapping_add(1);
            return Ok(resp.clone());
        }
        let objects = read_all(&resp.data).map_err(|_| bad("response data objects malformed"))?;
        let mut e87 = Vec::new();
        let mut do87 = None;
        let mut do99 = None;
        let mut do8e = None;
        for (tag, value) in &objects {
            match tag {
                0x87 => {
                    e87 = tlv(0x87, value);
                    do87 = Some(*value);
                }
                0x99 => do99 = Some(*value),
                0x8E => do8e = Some(*value),
                _ => return Err(bad("unexpected data object in the response")),
            }
        }
        let e99 = do99.map(|v| tlv(0x99, v)).unwrap_or_default();
        let mac = do8e.ok_or(bad("response without a MAC (8E)"))?;
        let expected = self.next_mac(&[&e87, &e99]);
        if !crypto::same_mac(&expected, mac) {
            return Err(bad("the response's MAC does not verify"));
        }
        let sw = match do99 {
            Some([a, b]) => u16::from_be_bytes([*a, *b]),
            Some(_) => return Err(bad("data object 99 is not two bytes")),
            // The status word must be under the MAC.
            None => return Err(bad("response without its protected status word (99)")),
        };
        let data = match do87 {
            Some(v) => self.decrypt_object(v)?,
            None => Vec::new(),
        };
        Ok(Response::new(data, sw))
    }
}
