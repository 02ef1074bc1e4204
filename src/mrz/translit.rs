//! Names into MRZ letters: Doc 9303 Part 3 §6 Table A (Latin) with the State's variant choices,
//! and the §4.6 punctuation rules that split a name into components.
//!
//! Design: only Latin letters of Table A are accepted. Any other character (digits, Cyrillic,
//! symbols) is rejected with its code point rather than guessed; the central office must send
//! a Latin transliteration.

use std::fmt;

use unicode_normalization::UnicodeNormalization;

/// MRZ form of `Ä`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ADiaeresis {
    /// `AE` (Table A's first form).
    Ae,
    /// `A`.
    A,
}

/// MRZ form of `Å`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ARing {
    /// `AA` (Table A's first form).
    Aa,
    /// `A`.
    A,
}

/// MRZ form of `Ö`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ODiaeresis {
    /// `OE` (Table A's first form).
    Oe,
    /// `O`.
    O,
}

/// MRZ form of `Ü`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UDiaeresis {
    /// `UE` (Table A's first form).
    Ue,
    /// `UXX` (Part 3 Appendix B: keeps the name distinguishable).
    Uxx,
    /// `U`.
    U,
}

/// MRZ form of `Ñ`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NTilde {
    /// `N` (Table A's first form).
    N,
    /// `NXX`.
    Nxx,
}

/// The issuing State's choice for each Table A character that has more than one MRZ form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TranslitOptions {
    /// `Ä`.
    pub a_diaeresis: ADiaeresis,
    /// `Å`.
    pub a_ring: ARing,
    /// `Ö`.
    pub o_diaeresis: ODiaeresis,
    /// `Ü`.
    pub u_diaeresis: UDiaeresis,
    /// `Ñ`.
    pub n_tilde: NTilde,
}

impl TranslitOptions {
    /// Table A's first form for every character: `AE`, `AA`, `OE`, `UE`, `N`.
    pub const FIRST_FORMS: Self = Self {
        a_diaeresis: ADiaeresis::Ae,
        a_ring: ARing::Aa,
        o_diaeresis: ODiaeresis::Oe,
        u_diaeresis: UDiaeresis::Ue,
        n_tilde: NTilde::N,
    };
}

/// A character of a name that has no MRZ form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UntransliterableChar {
    /// The character as written.
    pub ch: char,
    /// Its position in the name, counted in characters from 1.
    pub position: usize,
}

impl fmt::Display for UntransliterableChar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.ch.is_ascii_digit() {
            "digits are not allowed in names (write numerals as Roman numerals)"
        } else if self.ch.is_control() {
            "control characters are not allowed in names"
        } else {
            "it has no Latin transliteration in Doc 9303 Table A"
        };
        write!(
            f,
            "character {:?} (U+{:04X}) at position {}: {kind}",
            self.ch, self.ch as u32, self.position
        )
    }
}

/// What one upper-case character becomes in the MRZ.
enum Mapped {
    Letters(&'static str),
    Separator,
    Dropped,
}

fn map_char(c: char, opts: &TranslitOptions) -> Option<Mapped> {
    use Mapped::{Dropped, Letters, Separator};
    let letters = match c {
        'A'..='Z' => {
            // The index is < 26, so the slice is a single ASCII capital letter.
            const AZ: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
            let i = (c as usize) - ('A' as usize);
            return Some(Letters(&AZ[i..=i]));
        }
        // Component separators (§4.6: space and hyphen become one filler; a comma inside one
        // identifier becomes a filler too).
        ' ' | '\u{00A0}' | '-' | '\u{2010}' | '\u{2011}' | ',' => return Some(Separator),
        // Apostrophes are removed and the parts joined; other accepted punctuation is removed.
        '\'' | '\u{2018}' | '\u{2019}' | '\u{02BC}' | '`' | '.' => return Some(Dropped),
        'À' | 'Á' | 'Â' | 'Ã' | 'Ā' | 'Ă' | 'Ą' => "A",
        'Ä' => match opts.a_diaeresis {
            ADiaeresis::Ae => "AE",
            ADiaeresis::A => "A",
        },
        'Å' => match opts.a_ring {
            ARing::Aa => "AA",
            ARing::A => "A",
        },
        'Æ' => "AE",
        'Ç' | 'Ć' | 'Ĉ' | 'Ċ' | 'Č' => "C",
        'Ð' | 'Ď' | 'Đ' => "D",
        'È' | 'É' | 'Ê' | 'Ë' | 'Ē' | 'Ĕ' | 'Ė' | 'Ę' | 'Ě' => "E",
        'Ĝ' | 'Ğ' | 'Ġ' | 'Ģ' => "G",
        'Ĥ' | 'Ħ' => "H",
        'Ì' | 'Í' | 'Î' | 'Ï' | 'Ĩ' | 'Ī' | 'Ĭ' | 'Į' | 'İ' => "I",
        'Ĳ' => "IJ",
        'Ĵ' => "J",
        'Ķ' => "K",
        'Ĺ' | 'Ļ' | 'Ľ' | 'Ŀ' | 'Ł' => "L",
        'Ñ' => match opts.n_tilde {
            NTilde::N => "N",
            NTilde::Nxx => "NXX",
        },
        'Ń' | 'Ņ' | 'Ň' | 'Ŋ' => "N",
        'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ō' | 'Ŏ' | 'Ő' => "O",
        'Ö' => match opts.o_diaeresis {
            ODiaeresis::Oe => "OE",
            ODiaeresis::O => "O",
        },
        'Ø' | 'Œ' => "OE",
        'Ŕ' | 'Ŗ' | 'Ř' => "R",
        'Ś' | 'Ŝ' | 'Ş' | 'Š' => "S",
        'ẞ' => "SS",
        'Ţ' | 'Ť' | 'Ŧ' => "T",
        'Þ' => "TH",
        'Ù' | 'Ú' | 'Û' | 'Ũ' | 'Ū' | 'Ŭ' | 'Ů' | 'Ű' | 'Ų' => "U",
        'Ü' => match opts.u_diaeresis {
            UDiaeresis::Ue => "UE",
            UDiaeresis::Uxx => "UXX",
            UDiaeresis::U => "U",
        },
        'Ŵ' => "W",
        'Ý' | 'Ŷ' | 'Ÿ' => "Y",
        'Ź' | 'Ż' | 'Ž' => "Z",
        _ => return None,
    };
    Some(Letters(letters))
}

/// Splits one identifier (the surname, or the given names) into MRZ name components.
///
/// The text is NFC-normalised and upper-cased first (so `ß` becomes `SS` and a decomposed
/// `e` + combining acute becomes `É`), then every character is mapped by Table A and the
/// punctuation rules. Runs of separators collapse; an identifier with no letters yields no
/// components.
pub fn components(name: &str, opts: &TranslitOptions) -> Result<Vec<String>, UntransliterableChar> {
    let mut out: Vec<String> = Vec::new();
    let mut current = String::new();
    for (i, c) in name.nfc().enumerate() {
        for u in c.to_uppercase() {
            match map_char(u, opts) {
                Some(Mapped::Letters(s)) => current.push_str(s),
                Some(Mapped::Separator) => {
                    if !current.is_empty() {
                        out.push(std::mem::take(&mut current));
                    }
                }
                Some(Mapped::Dropped) => {}
                None => {
                    return Err(UntransliterableChar {
                        ch: c,
                        position: i + 1,
                    });
                }
            }
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comps(s: &str) -> Vec<String> {
        components(s, &TranslitOptions::FIRST_FORMS).expect("transliterable")
    }

    #[test]
    fn punctuation_rules_of_part_3_section_4_6() {
        assert_eq!(comps("D'Artagnan"), ["DARTAGNAN"]);
        assert_eq!(comps("Marie-Elise"), ["MARIE", "ELISE"]);
        assert_eq!(comps("M. Firman"), ["M", "FIRMAN"]);
        assert_eq!(comps("Ai'nun"), ["AINUN"]);
        assert_eq!(comps("  Budi   Santoso "), ["BUDI", "SANTOSO"]);
        assert_eq!(comps("A - B"), ["A", "B"]);
        assert!(comps("").is_empty());
        assert!(comps(" . ").is_empty());
    }

    #[test]
    fn table_a_first_forms_by_default() {
        assert_eq!(comps("Müller"), ["MUELLER"]);
        assert_eq!(comps("Ångström"), ["AANGSTROEM"]);
        assert_eq!(comps("Jäger"), ["JAEGER"]);
        assert_eq!(comps("Muñoz"), ["MUNOZ"]);
        assert_eq!(comps("Strauß"), ["STRAUSS"]);
        assert_eq!(comps("Þór Ølsen"), ["THOR", "OELSEN"]);
        assert_eq!(comps("Łukasz Żółć"), ["LUKASZ", "ZOLC"]);
        assert_eq!(comps("ĳssel"), ["IJSSEL"]);
    }

    #[test]
    fn variant_choices_are_honoured() {
        let opts = TranslitOptions {
            a_diaeresis: ADiaeresis::A,
            a_ring: ARing::A,
            o_diaeresis: ODiaeresis::O,
            u_diaeresis: UDiaeresis::Uxx,
            n_tilde: NTilde::Nxx,
        };
        let c = |s| components(s, &opts).expect("transliterable");
        assert_eq!(c("Jäger Åsa Östen"), ["JAGER", "ASA", "OSTEN"]);
        assert_eq!(c("Müller"), ["MUXXLLER"]);
        assert_eq!(c("Cañon"), ["CANXXON"]);
    }

    #[test]
    fn decomposed_input_is_normalised_first() {
        assert_eq!(comps("Jose\u{0301}"), ["JOSE"]);
        assert_eq!(comps("Mu\u{0308}ller"), ["MUELLER"]);
    }

    #[test]
    fn characters_without_a_latin_form_are_named() {
        let err = components("Budi2", &TranslitOptions::FIRST_FORMS).expect_err("digit");
        assert_eq!(err.ch, '2');
        assert_eq!(err.position, 5);
        assert!(err.to_string().contains("Roman numerals"));
        let err = components("Иван", &TranslitOptions::FIRST_FORMS).expect_err("cyrillic");
        assert_eq!((err.ch, err.position), ('И', 1));
        assert!(err.to_string().contains("U+0418"));
        assert!(components("A@B", &TranslitOptions::FIRST_FORMS).is_err());
        assert!(components("A\tB", &TranslitOptions::FIRST_FORMS).is_err());
    }
}
