//! The `[mrz]` section of the station's configuration: its file form and its validation into
//! `MrzOptions` (the MRZ engine owns its settings; `config` only reads the file).

use serde::Deserialize;

use super::translit::{ADiaeresis, ARing, NTilde, ODiaeresis, TranslitOptions, UDiaeresis};
use super::{EmptyOptionalCheck, MrzOptions};

/// The `[mrz]` section as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMrz {
    empty_personal_number_check: String,
    transliteration: RawTranslit,
}

impl RawMrz {
    /// Checks every value (each problem goes to `bad` with its key path); the settings when
    /// all are good.
    pub fn validate(&self, bad: &mut impl FnMut(&str, String)) -> Option<MrzOptions> {
        let empty_optional_check = match self.empty_personal_number_check.as_str() {
            "0" => Some(EmptyOptionalCheck::Zero),
            "<" => Some(EmptyOptionalCheck::Filler),
            other => {
                bad(
                    "mrz.empty_personal_number_check",
                    format!("{other:?} must be \"0\" or \"<\""),
                );
                None
            }
        };
        let t = &self.transliteration;
        let mut choice = |key: &str, value: &str, allowed: &[&str]| -> Option<usize> {
            let i = allowed.iter().position(|a| *a == value);
            if i.is_none() {
                bad(
                    &format!("mrz.transliteration.{key}"),
                    format!("{value:?} must be one of {}", allowed.join(", ")),
                );
            }
            i
        };
        let a_diaeresis = choice("a_diaeresis", &t.a_diaeresis, &["AE", "A"])
            .map(|i| [ADiaeresis::Ae, ADiaeresis::A][i]);
        let a_ring = choice("a_ring", &t.a_ring, &["AA", "A"]).map(|i| [ARing::Aa, ARing::A][i]);
        let o_diaeresis = choice("o_diaeresis", &t.o_diaeresis, &["OE", "O"])
            .map(|i| [ODiaeresis::Oe, ODiaeresis::O][i]);
        let u_diaeresis = choice("u_diaeresis", &t.u_diaeresis, &["UE", "UXX", "U"])
            .map(|i| [UDiaeresis::Ue, UDiaeresis::Uxx, UDiaeresis::U][i]);
        let n_tilde =
            choice("n_tilde", &t.n_tilde, &["N", "NXX"]).map(|i| [NTilde::N, NTilde::Nxx][i]);
        Some(MrzOptions {
            translit: TranslitOptions {
                a_diaeresis: a_diaeresis?,
                a_ring: a_ring?,
                o_diaeresis: o_diaeresis?,
                u_diaeresis: u_diaeresis?,
                n_tilde: n_tilde?,
            },
            empty_optional_check: empty_optional_check?,
        })
    }
}

/// `[mrz.transliteration]`: the choice for each letter with two ICAO renderings.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTranslit {
    a_diaeresis: String,
    a_ring: String,
    o_diaeresis: String,
    u_diaeresis: String,
    n_tilde: String,
}
