//! The TD3 name field (line 1, positions 6-44): primary and secondary identifiers joined by
//! `<<`, padded with `<`, and truncated per Doc 9303 Part 3 §4.6 when it does not fit.
//!
//! Design: truncation is deterministic and documented so that the central office can predict
//! it. A name that fits is never changed. Otherwise, in order:
//! 1. when a secondary identifier exists and the primary identifier leaves fewer than three
//!    positions for `<<` and the first letter of the secondary identifier, the primary
//!    identifier is cut to width − 3 positions, ending on a letter (by the rule of step 3);
//! 2. the result is cut at the field width;
//! 3. while the last position is a filler, the last letter of the nearest preceding component
//!    with two or more letters is removed, which pulls the next letter into the last position —
//!    so position 44 of line 1 always holds a letter after truncation, as §4.6 requires.

use std::fmt;

/// The number of positions of the TD3 name field.
pub const TD3_NAME_WIDTH: usize = 39;

/// The finished name field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameField {
    /// Exactly `width` characters of `A-Z` and `<`.
    pub field: String,
    /// Whether characters of the name had to be removed to fit.
    pub truncated: bool,
}

/// A name that cannot be written into the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameError {
    /// The primary identifier has no letters.
    EmptyPrimary,
    /// A component holds something other than `A-Z`.
    BadComponent(String),
    /// Truncation could not end the field on a letter (only one-letter components left).
    CannotTruncate,
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameError::EmptyPrimary => write!(f, "the primary identifier has no letters"),
            NameError::BadComponent(c) => {
                write!(f, "name component {c:?} is not made of A-Z only")
            }
            NameError::CannotTruncate => write!(
                f,
                "the name is too long and cannot be truncated so that it ends on a letter"
            ),
        }
    }
}

/// Builds the name field from transliterated components (see `translit::components`).
pub fn name_field(
    primary: &[String],
    secondary: &[String],
    width: usize,
) -> Result<NameField, NameError> {
    if primary.is_empty() {
        return Err(NameError::EmptyPrimary);
    }
    for c in primary.iter().chain(secondary) {
        if c.is_empty() || !c.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(NameError::BadComponent(c.clone()));
        }
    }
    let p = primary.join("<");
    let s = secondary.join("<");
    let full_len = p.len() + if s.is_empty() { 0 } else { 2 + s.len() };
    if full_len <= width {
        let mut field = p;
        if !s.is_empty() {
            field.push_str("<<");
            field.push_str(&s);
        }
        return Ok(NameField {
            field: pad(field, width),
            truncated: false,
        });
    }

    let candidate: Vec<u8> = if s.is_empty() {
        p.into_bytes()
    } else {
        // Step 1: keep room for `<<` plus the first letter of the secondary identifier.
        let room = width.saturating_sub(3);
        let primary = if p.len() > room {
            cut_on_letter(p.into_bytes(), room)?
        } else {
            p.into_bytes()
        };
        [primary.as_slice(), b"<<", s.as_bytes()].concat()
    };
    // Steps 2 and 3.
    let field = cut_on_letter(candidate, width)?;
    // The field holds only A-Z and `<` (checked above), so it is valid UTF-8.
    let field = String::from_utf8(field).map_err(|_| NameError::CannotTruncate)?;
    Ok(NameField {
        field,
        truncated: true,
    })
}

/// Cuts `candidate` (longer than `width`, ending on a letter) to exactly `width` positions whose
/// last one is a letter: while the cut would end on a filler, the last letter of the nearest
/// preceding component with two or more letters is removed, pulling the next letter in.
fn cut_on_letter(mut candidate: Vec<u8>, width: usize) -> Result<Vec<u8>, NameError> {
    loop {
        if candidate.len() <= width {
            // Components are non-empty, so a candidate ends on a letter; deletions shorten it
            // one at a time, so it reaches exactly `width` before it could get shorter.
            return Ok(candidate);
        }
        if width > 0 && candidate[width - 1].is_ascii_uppercase() {
            candidate.truncate(width);
            return Ok(candidate);
        }
        let Some(at) = deletable_letter(&candidate[..width.saturating_sub(1)]) else {
            return Err(NameError::CannotTruncate);
        };
        candidate.remove(at);
    }
}

/// The index of the last letter of the rightmost component in `s` that has two or more letters.
fn deletable_letter(s: &[u8]) -> Option<usize> {
    let mut end = s.len();
    while end > 0 {
        // Skip fillers to find the end of a component.
        while end > 0 && s[end - 1] == b'<' {
            end -= 1;
        }
        let mut start = end;
        while start > 0 && s[start - 1] != b'<' {
            start -= 1;
        }
        if end - start >= 2 {
            return Some(end - 1);
        }
        end = start;
    }
    None
}

fn pad(mut field: String, width: usize) -> String {
    while field.len() < width {
        field.push('<');
    }
    field
}

/// A name field read back from an MRZ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedName {
    /// The primary identifier's components.
    pub primary: Vec<String>,
    /// The secondary identifier's components (empty for a mononym).
    pub secondary: Vec<String>,
    /// A letter in the last position: the name may have been truncated.
    pub possibly_truncated: bool,
}

/// Parses a name field against the structure
/// `^[A-Z]+(<[A-Z]+)*(<<[A-Z]+(<[A-Z]+)*)?<*$`; `None` when it does not match.
pub fn parse_name_field(field: &str) -> Option<ParsedName> {
    let bytes = field.as_bytes();
    if !bytes.iter().all(|&b| b.is_ascii_uppercase() || b == b'<') {
        return None;
    }
    let body = field.trim_end_matches('<');
    if body.is_empty() || body.starts_with('<') {
        return None;
    }
    let (p, s) = match body.split_once("<<") {
        Some((p, s)) => (p, Some(s)),
        None => (body, None),
    };
    let split = |part: &str| -> Option<Vec<String>> {
        let comps: Vec<String> = part.split('<').map(str::to_owned).collect();
        if comps.iter().any(String::is_empty) {
            None
        } else {
            Some(comps)
        }
    };
    let primary = split(p)?;
    let secondary = match s {
        Some(s) => split(s)?,
        None => Vec::new(),
    };
    Some(ParsedName {
        primary,
        secondary,
        possibly_truncated: bytes.last().is_some_and(u8::is_ascii_uppercase),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(parts: &[&str]) -> Vec<String> {
        parts.iter().map(|s| (*s).to_owned()).collect()
    }

    fn field(p: &[&str], s: &[&str]) -> NameField {
        name_field(&v(p), &v(s), TD3_NAME_WIDTH).expect("fits")
    }

    #[test]
    fn a_name_that_fits_is_padded_not_truncated() {
        let f = field(&["ERIKSSON"], &["ANNA", "MARIA"]);
        assert_eq!(f.field, "ERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<");
        assert!(!f.truncated);
        let f = field(&["PARTINI"], &[]);
        assert_eq!(f.field, format!("PARTINI{}", "<".repeat(32)));
    }

    #[test]
    fn a_name_of_exactly_39_positions_is_kept_whole() {
        // 18 + 2 + 19 = 39.
        let f = field(&["ABCDEFGHIJKLMNOPQR"], &["ABCDEFGHIJKLMNOPQRS"]);
        assert_eq!(f.field.len(), 39);
        assert!(!f.truncated);
        assert_eq!(f.field, "ABCDEFGHIJKLMNOPQR<<ABCDEFGHIJKLMNOPQRS");
    }

    #[test]
    fn a_long_secondary_identifier_is_cut_at_the_end() {
        let f = field(
            &["NILAVADHANANANDA"],
            &["CHAYAPA", "DEJTHAMRONG", "KRASUANG"],
        );
        assert!(f.truncated);
        assert_eq!(f.field, "NILAVADHANANANDA<<CHAYAPA<DEJTHAMRONG<K");
        assert_eq!(f.field.len(), 39);
    }

    #[test]
    fn a_long_primary_identifier_leaves_room_for_the_secondary_initial() {
        let f = field(&["ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOP"], &["BUDI"]);
        assert!(f.truncated);
        assert_eq!(f.field, "ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJ<<B");
        // A cut landing on a separator pulls the next component's initial in.
        let f = field(&["ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHI", "XYZ"], &["BUDI"]);
        assert_eq!(f.field, "ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGH<X<<B");
    }

    #[test]
    fn a_primary_cut_on_a_separator_still_fills_the_field() {
        // 38-position primary whose cut at 36 lands on a separator, and a one-letter secondary
        // identifier: the field must still end on that letter, not on filler.
        let f = field(&["CCAAACAAY", "AAESSAAOEAOEAAAOEAOESSAAA", "SS"], &["U"]);
        assert!(f.truncated);
        assert_eq!(f.field, "CCAAACAAY<AAESSAAOEAOEAAAOEAOESSAA<S<<U");
    }

    #[test]
    fn a_cut_on_a_filler_pulls_the_next_letter_in() {
        // Without the rule the field would end "...KLMNOPQRST<": position 44 a filler.
        let f = field(&["SANTOSO"], &["ABCDEFGHIJKLMNOPQRSTUVWXYZABC", "DEWI"]);
        assert!(f.truncated);
        assert_eq!(f.field, "SANTOSO<<ABCDEFGHIJKLMNOPQRSTUVWXYZAB<D");
        assert!(f.field.ends_with(|c: char| c.is_ascii_uppercase()));
    }

    #[test]
    fn a_long_mononym_ends_on_a_letter() {
        let f = field(&["ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKL", "MN"], &[]);
        assert_eq!(f.field, "ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJK<M");
        assert!(f.truncated);
    }

    #[test]
    fn only_one_letter_components_cannot_be_truncated_onto_a_letter() {
        let many: Vec<&str> = std::iter::repeat_n("A", 30).collect();
        // A<A<A... has a letter at every even index, so the cut at 39 ends on a letter.
        assert!(field(&many, &[]).truncated);
        let r = name_field(&v(&["ABC"]), &v(&many), TD3_NAME_WIDTH);
        // "ABC<<A<A<...": index 38 is a filler; the only deletable letter is in ABC.
        let f = r.expect("ABC can give up a letter");
        assert!(f.field.starts_with("AB<<A<A"));
        assert!(f.field.ends_with('A'));
        let r = name_field(&v(&["A"]), &v(&many), TD3_NAME_WIDTH);
        assert_eq!(r, Err(NameError::CannotTruncate));
    }

    #[test]
    fn bad_components_are_refused() {
        assert_eq!(name_field(&[], &[], 39), Err(NameError::EmptyPrimary));
        assert!(matches!(
            name_field(&v(&["AB1"]), &[], 39),
            Err(NameError::BadComponent(_))
        ));
    }

    #[test]
    fn parses_the_structure_back() {
        let p = parse_name_field("ERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<").expect("valid");
        assert_eq!(p.primary, ["ERIKSSON"]);
        assert_eq!(p.secondary, ["ANNA", "MARIA"]);
        assert!(!p.possibly_truncated);
        let p = parse_name_field("NILAVADHANANANDA<<CHAYAPA<DEJTHAMRONG<K").expect("valid");
        assert!(p.possibly_truncated);
        for bad in [
            "<ABC<<<",
            "AB<<<C<<<",
            "AB<<C<<D",
            "AB1<<<<",
            "<<<<<<",
            "A<B<<<<C",
            "ab<<cd",
        ] {
            assert_eq!(parse_name_field(bad), None, "{bad}");
        }
    }
}
