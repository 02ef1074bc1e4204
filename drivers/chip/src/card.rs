//! The virtual e-passport: a card that speaks ISO/IEC 7816-4 with the eMRTD application, Basic
//! Access Control and secure messaging, and holds an LDS — what the station's tests and demo put
//! on a reader (through `vsmartcard-vpcd` to `pcscd`, or called directly). Faults on demand: a
//! chip that stays mute, or one whose SOD or DG1 was changed after issuing.

use std::collections::BTreeMap;

use crate::apdu::{Command, Response, sw};
use crate::bac::{self, BacKeys, MrzInfo};
use crate::issue::Lds;
use crate::session::{AID, File};
use crate::sm::SecureChannel;

/// The ATR of a contactless ISO/IEC 14443-4 card as a PC/SC reader reports it (PC/SC Part 3:
/// `3B 8n 80 01`, no historical bytes, TCK).
pub const ATR: [u8; 5] = [0x3B, 0x80, 0x80, 0x01, 0x01];

/// The card's randomness (RND.IC, K.IC).
pub type Rng = Box<dyn FnMut(&mut [u8]) + Send>;

/// The virtual e-passport card.
pub struct Card {
    keys: BacKeys,
    files: BTreeMap<[u8; 2], Vec<u8>>,
    rng: Rng,
    app_selected: bool,
    challenge: Option<[u8; 8]>,
    channel: Option<SecureChannel>,
    selected: Option<[u8; 2]>,
    mute: bool,
}

impl Card {
    /// A card whose chip opens with `access` (the MRZ information it was issued for) and holds
    /// `lds`, drawing its random values from `rng`.
    pub fn new(access: &MrzInfo, lds: &Lds, rng: Rng) -> Self {
        Self {
            keys: access.keys(),
            files: lds
                .files
                .iter()
                .map(|(f, b)| (f.fid(), b.clone()))
                .collect(),
            rng,
            app_selected: false,
            challenge: None,
            channel: None,
            selected: None,
            mute: false,
        }
    }

    /// A chip that does not answer (a broken antenna, a booklet without a working chip).
    pub fn mute(mut self) -> Self {
        self.mute = true;
        self
    }

    /// Replaces a file's bytes (a fault: the chip's content changed after it was signed).
    pub fn replace_file(&mut self, file: File, bytes: Vec<u8>) {
        self.files.insert(file.fid(), bytes);
    }

    /// The file's bytes.
    pub fn file(&self, file: File) -> Option<&[u8]> {
        self.files.get(&file.fid()).map(Vec::as_slice)
    }

    /// Whether the card is mute.
    pub fn is_mute(&self) -> bool {
        self.mute
    }

    /// Power on or reset: the application is deselected and any session ends.
    pub fn reset(&mut self) {
        self.app_selected = false;
        self.challenge = None;
        self.channel = None;
        self.selected = None;
    }

    /// Answers one command APDU (`None`: the chip is mute).
    pub fn transmit(&mut self, apdu: &[u8]) -> Option<Vec<u8>> {
        if self.mute {
            return None;
        }
        let resp = match Command::parse(apdu) {
            Ok(cmd) => self.answer(&cmd),
            Err(_) => Response::status(sw::WRONG_LENGTH),
        };
        Some(resp.encode())
    }

    fn answer(&mut self, cmd: &Command) -> Response {
        if cmd.cla & 0x0C == 0x0C {
            let Some(channel) = self.channel.as_mut() else {
                return Response::status(sw::CONDITIONS);
            };
            let plain = match channel.unwrap_command(cmd) {
                Ok(plain) => plain,
                Err(status) => {
                    // A secure messaging error ends the session (ICAO 9303 Part 11 §9.8.4).
                    self.channel = None;
                    return Response::status(status);
                }
            };
            let resp = self.secured(&plain);
            // Checked just above: the channel is open.
            match self.channel.as_mut() {
                Some(channel) => channel.wrap_response(&resp),
                None => resp,
            }
        } else {
            self.plain(cmd)
        }
    }

    fn plain(&mut self, cmd: &Command) -> Response {
        if cmd.cla != 0x00 {
            return Response::status(sw::CLA_UNKNOWN);
        }
        match (cmd.ins, cmd.p1) {
            (0xA4, 0x04) => {
                // Selecting an application ends any session.
                self.channel = None;
                self.selected = None;
                self.app_selected = cmd.data == AID;
                Response::status(if self.app_selected {
                    sw::OK
                } else {
                    sw::NOT_FOUND
                })
            }
            (0x84, _) if self.app_selected => {
                if cmd.le != Some(8) {
                    return Response::status(sw::WRONG_LENGTH);
                }
                let mut rnd = [0u8; 8];
                (self.rng)(&mut rnd);
                self.challenge = Some(rnd);
                Response::new(rnd, sw::OK)
            }
            (0x82, _) if self.app_selected => {
                let Some(rnd_ic) = self.challenge.take() else {
                    return Response::status(sw::CONDITIONS);
                };
                let mut k_ic = [0u8; 16];
                (self.rng)(&mut k_ic);
                match bac::chip_authenticate(&self.keys, &rnd_ic, &k_ic, &cmd.data) {
                    Ok((resp, channel)) => {
                        self.channel = Some(channel);
                        resp
                    }
                    Err(status) => Response::status(status),
                }
            }
            (0xA4, _) | (0xB0, _) if self.app_selected => Response::status(sw::SECURITY),
            (0xA4 | 0xB0 | 0x84 | 0x82, _) => Response::status(sw::CONDITIONS),
            _ => Response::status(sw::INS_UNKNOWN),
        }
    }

    fn secured(&mut self, cmd: &Command) -> Response {
        match cmd.ins {
            0xA4 if cmd.p1 == 0x02 || cmd.p1 == 0x00 => {
                let Ok(fid) = <[u8; 2]>::try_from(cmd.data.as_slice()) else {
                    return Response::status(sw::WRONG_DATA);
                };
                if self.files.contains_key(&fid) {
                    self.selected = Some(fid);
                    Response::status(sw::OK)
                } else {
                    Response::status(sw::NOT_FOUND)
                }
            }
            0xB0 => {
                // P1 bit 8 set: a short file identifier in P1's low five bits, P2 the offset.
                let (fid, offset) = if cmd.p1 & 0x80 != 0 {
                    let sfi = cmd.p1 & 0x1F;
                    let Some(fid) = [File::Com, File::Dg1, File::Dg2, File::Sod]
                        .into_iter()
                        .map(File::fid)
                        .find(|fid| fid[1] == sfi)
                    else {
                        return Response::status(sw::NOT_FOUND);
                    };
                    if !self.files.contains_key(&fid) {
                        return Response::status(sw::NOT_FOUND);
                    }
                    self.selected = Some(fid);
                    (fid, cmd.p2 as usize)
                } else {
                    let Some(fid) = self.selected else {
                        return Response::status(sw::CONDITIONS);
                    };
                    (fid, u16::from_be_bytes([cmd.p1, cmd.p2]) as usize)
                };
                let Some(file) = self.files.get(&fid) else {
                    return Response::status(sw::NOT_FOUND);
                };
                if offset > file.len() {
                    return Response::status(sw::WRONG_OFFSET);
                }
                // Le 00 asks for "up to 256": answer what fits a protected short response.
                let wildcard = matches!(cmd.le, None | Some(256) | Some(65536));
                let want = cmd.le.unwrap_or(256).min(crate::session::CHUNK);
                let end = (offset + want).min(file.len());
                let data = file[offset..end].to_vec();
                let status = if !wildcard && end - offset < want {
                    sw::END_OF_FILE
                } else {
                    sw::OK
                };
                Response::new(data, status)
            }
            _ => Response::status(sw::INS_UNKNOWN),
        }
    }
}
