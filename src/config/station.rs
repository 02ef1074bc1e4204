//! The `[station]`, `[mrz]` and `[policy]` sections: their file form and its validation into
//! the station's clock, the MRZ options and the issuance policy.

use super::*;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStation {
    utc_offset: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMrz {
    empty_personal_number_check: String,
    transliteration: RawTranslit,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTranslit {
    a_diaeresis: String,
    a_ring: String,
    o_diaeresis: String,
    u_diaeresis: String,
    n_tilde: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPolicy {
    issuing_state: String,
    nationality: String,
    document_codes: Vec<String>,
    number_prefixes: Vec<String>,
    names_letters_and_spaces_only: bool,
    standard_validity_years: u8,
    adult_validity_years: u8,
    adult_age: u8,
    married_counts_as_adult: bool,
}

impl RawStation {
    pub(super) fn validate(&self, bad: &mut impl FnMut(&str, String)) -> Option<UtcOffset> {
        let utc_offset = crate::clock::parse_offset(&self.utc_offset);
        if utc_offset.is_none() {
            bad(
                "station.utc_offset",
                format!("{:?} is not an offset like +07:00", self.utc_offset),
            );
        }
        utc_offset
    }
}

impl RawMrz {
    pub(super) fn validate(&self, bad: &mut impl FnMut(&str, String)) -> Option<MrzOptions> {
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

impl RawPolicy {
    pub(super) fn validate(&self, bad: &mut impl FnMut(&str, String)) -> Option<Policy> {
        let p = self;
        let mut ok = true;
        let mut bad = |path: &str, message: String| {
            ok = false;
            bad(path, message);
        };
        for (key, code) in [
            ("issuing_state", &p.issuing_state),
            ("nationality", &p.nationality),
        ] {
            if crate::mrz::codes::lookup(code).is_none() {
                bad(
                    &format!("policy.{key}"),
                    format!("{code:?} is not an ICAO code"),
                );
            }
        }
        if p.document_codes.is_empty() {
            bad("policy.document_codes", "list at least one code".to_owned());
        }
        for c in &p.document_codes {
            let b = c.as_bytes();
            if !(b.first() == Some(&b'P')
                && b.len() <= 2
                && b.get(1).is_none_or(u8::is_ascii_uppercase))
            {
                bad(
                    "policy.document_codes",
                    format!("{c:?} is not P or P plus one letter"),
                );
            }
        }
        let mut prefixes = Vec::new();
        for s in &p.number_prefixes {
            let mut chars = s.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) if c.is_ascii_uppercase() => prefixes.push(c),
                _ => bad(
                    "policy.number_prefixes",
                    format!("{s:?} is not one letter A-Z"),
                ),
            }
        }
        if p.number_prefixes.is_empty() {
            bad(
                "policy.number_prefixes",
                "list at least one letter".to_owned(),
            );
        }
        if p.standard_validity_years == 0 || p.standard_validity_years >= p.adult_validity_years {
            bad(
                "policy.standard_validity_years",
                "must be at least 1 and less than adult_validity_years".to_owned(),
            );
        }
        if p.adult_validity_years > 10 {
            bad(
                "policy.adult_validity_years",
                "more than 10 years is not allowed for passports".to_owned(),
            );
        }
        if p.adult_age > 25 {
            bad("policy.adult_age", "must be 25 or less".to_owned());
        }
        ok.then(|| Policy {
            issuing_state: p.issuing_state.clone(),
            nationality: p.nationality.clone(),
            document_codes: p.document_codes.clone(),
            number_prefixes: prefixes,
            names_letters_and_spaces_only: p.names_letters_and_spaces_only,
            standard_validity_years: p.standard_validity_years,
            adult_validity_years: p.adult_validity_years,
            adult_age: p.adult_age,
            married_counts_as_adult: p.married_counts_as_adult,
        })
    }
}
