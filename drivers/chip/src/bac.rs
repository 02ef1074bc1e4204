//! Basic Access Control (ICAO 9303 Part 11 §4.3, §9.7): the document basic access keys from the
//! MRZ information, the inspection system's side of GET CHALLENGE / MUTUAL AUTHENTICATE as an
//! [`Access`](crate::session::Access) step, and the chip's side for the virtual card.

use crate::ChipError;
use crate::apdu::{Command, Response, sw};
use crate::crypto::{self, Key16, KeyUse};
use crate::session::{Access, AccessStep};
use crate::sm::SecureChannel;

/// The MRZ information BAC keys are derived from: document number (9 positions, `<`-padded)
/// and its check digit, date of birth and its check digit, date of expiry and its check digit.
#[derive(Clone, PartialEq, Eq)]
pub struct MrzInfo(String);

impl std::fmt::Debug for MrzInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A document number and dates of birth are personal data: never in a log.
        f.write_str("MrzInfo(…)")
    }
}

impl MrzInfo {
    /// From the document number (`<`-padded to 9 when shorter; a longer number is used whole,
    /// as Part 11 §9.7.1.1 says for its first 9 positions plus the rest is out of scope) and the
    /// two dates as `YYMMDD`.
    pub fn new(document_number: &str, birth: &str, expiry: &str) -> Result<Self, ChipError> {
        let bad = |field: &'static str| ChipError::MrzInfo { field };
        let number = document_number.trim();
        if number.is_empty()
            || number.len() > 9
            || !number
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'<')
        {
            return Err(bad("document_number"));
        }
        let date_ok = |d: &str| d.len() == 6 && d.bytes().all(|b| b.is_ascii_digit());
        if !date_ok(birth) {
            return Err(bad("birth"));
        }
        if !date_ok(expiry) {
            return Err(bad("expiry"));
        }
        let mut padded = number.to_owned();
        while padded.len() < 9 {
            padded.push('<');
        }
        let mut s = String::with_capacity(24);
        for field in [padded.as_str(), birth, expiry] {
            s.push_str(field);
            s.push(char::from(b'0' + check_digit(field.as_bytes())));
        }
        Ok(Self(s))
    }

    /// The 24 characters (`L898902C<369080619406236` in Part 11's worked example).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The document basic access keys.
    pub fn keys(&self) -> BacKeys {
        BacKeys::from_seed(&crypto::seed_of(self.0.as_bytes()))
    }
}

/// The ICAO 9303 check digit (weights 7, 3, 1; `<` is 0, `A`–`Z` are 10–35).
pub fn check_digit(field: &[u8]) -> u8 {
    let sum: u32 = field
        .iter()
        .zip([7u32, 3, 1].iter().cycle())
        .map(|(&c, w)| {
            let v = match c {
                b'0'..=b'9' => (c - b'0') as u32,
                b'A'..=b'Z' => (c - b'A') as u32 + 10,
                _ => 0,
            };
            v * w
        })
        .sum();
    (sum % 10) as u8
}

/// K_enc and K_mac.
#[derive(Clone, PartialEq, Eq)]
pub struct BacKeys {
    /// The encryption key.
    pub enc: Key16,
    /// The MAC key.
    pub mac: Key16,
}

impl std::fmt::Debug for BacKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BacKeys(…)")
    }
}

impl BacKeys {
    /// Both keys from a 16-byte seed.
    pub fn from_seed(seed: &[u8; 16]) -> Self {
        Self {
            enc: crypto::derive_key(seed, KeyUse::Enc),
            mac: crypto::derive_key(seed, KeyUse::Mac),
        }
    }
}

/// The session keys and send sequence counter both sides compute after MUTUAL AUTHENTICATE.
fn session(k_ifd: &[u8], k_ic: &[u8], rnd_ic: &[u8], rnd_ifd: &[u8]) -> SecureChannel {
    let mut seed = [0u8; 16];
    for (i, s) in seed.iter_mut().enumerate() {
        *s = k_ifd[i] ^ k_ic[i];
    }
    let keys = BacKeys::from_seed(&seed);
    let mut ssc = [0u8; 8];
    ssc[..4].copy_from_slice(&rnd_ic[4..8]);
    ssc[4..].copy_from_slice(&rnd_ifd[4..8]);
    SecureChannel::new(keys.enc, keys.mac, u64::from_be_bytes(ssc))
}

/// The inspection system's side of BAC. The caller supplies the randomness (RND.IFD, K.IFD),
/// so that this stays sans-IO and the worked example can be replayed.
pub struct Bac {
    keys: BacKeys,
    rnd_ifd: [u8; 8],
    k_ifd: [u8; 16],
    rnd_ic: Option<[u8; 8]>,
}

impl Bac {
    /// BAC with the document basic access keys and the inspection system's random values.
    pub fn new(keys: BacKeys, rnd_ifd: [u8; 8], k_ifd: [u8; 16]) -> Self {
        Self {
            keys,
            rnd_ifd,
            k_ifd,
            rnd_ic: None,
        }
    }

    /// The MUTUAL AUTHENTICATE command for a challenge: E_IFD ‖ M_IFD.
    pub fn mutual_authenticate(&self, rnd_ic: &[u8; 8]) -> Command {
        let mut s = Vec::with_capacity(32);
        s.extend_from_slice(&self.rnd_ifd);
        s.extend_from_slice(rnd_ic);
        s.extend_from_slice(&self.k_ifd);
        let e = crypto::encrypt(&self.keys.enc, &s);
        let m = crypto::mac(&self.keys.mac, &e);
        let mut data = e;
        data.extend_from_slice(&m);
        Command::new(0x00, 0x82, 0x00, 0x00)
            .with_data(data)
            .with_le(40)
    }
}

impl Access for Bac {
    fn name(&self) -> &'static str {
        "BAC"
    }

    fn step(&mut self, response: Option<&Response>) -> Result<AccessStep, ChipError> {
        let Some(resp) = response else {
            return Ok(AccessStep::Transmit(
                Command::new(0x00, 0x84, 0x00, 0x00).with_le(8),
            ));
        };
        match self.rnd_ic {
            None => {
                if !resp.ok() || resp.data.len() != 8 {
                    return Err(ChipError::Card {
                        step: "GET CHALLENGE",
                        sw: resp.sw,
                    });
                }
                let mut rnd_ic = [0u8; 8];
                rnd_ic.copy_from_slice(&resp.data);
                self.rnd_ic = Some(rnd_ic);
                Ok(AccessStep::Transmit(self.mutual_authenticate(&rnd_ic)))
            }
            Some(rnd_ic) => {
                // A chip that answers with an error, or with a cryptogram made with other
                // keys, is a booklet this job's MRZ does not open.
                if !resp.ok() || resp.data.len() != 40 {
                    return Err(ChipError::AccessDenied { sw: resp.sw });
                }
                let (e_ic, m_ic) = resp.data.split_at(32);
                if !crypto::same_mac(&crypto::mac(&self.keys.mac, e_ic), m_ic) {
                    return Err(ChipError::AccessDenied { sw: resp.sw });
                }
                let r = crypto::decrypt(&self.keys.enc, e_ic)
                    .ok_or(ChipError::AccessDenied { sw: resp.sw })?;
                if r[..8] != rnd_ic || r[8..16] != self.rnd_ifd {
                    return Err(ChipError::AccessDenied { sw: resp.sw });
                }
                Ok(AccessStep::Open(Box::new(session(
                    &self.k_ifd,
                    &r[16..32],
                    &rnd_ic,
                    &self.rnd_ifd,
                ))))
            }
        }
    }
}

/// The chip's side of MUTUAL AUTHENTICATE: checks the inspection system's cryptogram against
/// the challenge it gave, and answers E_IC ‖ M_IC with its own key half, opening the session.
pub fn chip_authenticate(
    keys: &BacKeys,
    rnd_ic: &[u8; 8],
    k_ic: &[u8; 16],
    data: &[u8],
) -> Result<(Response, SecureChannel), u16> {
    if data.len() != 40 {
        return Err(sw::WRONG_LENGTH);
    }
    let (e_ifd, m_ifd) = data.split_at(32);
    if !crypto::same_mac(&crypto::mac(&keys.mac, e_ifd), m_ifd) {
        return Err(sw::AUTH_FAILED);
    }
    let s = crypto::decrypt(&keys.enc, e_ifd).ok_or(sw::AUTH_FAILED)?;
    if s[8..16] != rnd_ic[..] {
        return Err(sw::AUTH_FAILED);
    }
    let rnd_ifd = &s[..8];
    let k_ifd = &s[16..32];
    let mut r = Vec::with_capacity(32);
    r.extend_from_slice(rnd_ic);
    r.extend_from_slice(rnd_ifd);
    r.extend_from_slice(k_ic);
    let e_ic = crypto::encrypt(&keys.enc, &r);
    let m_ic = crypto::mac(&keys.mac, &e_ic);
    let mut body = e_ic;
    body.extend_from_slice(&m_ic);
    Ok((
        Response::new(body, sw::OK),
        session(k_ifd, k_ic, rnd_ic, rnd_ifd),
    ))
}
