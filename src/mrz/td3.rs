//! TD3 (passport) MRZ: building both 44-character lines from validated fields, and a parser
//! that re-checks every position and every check digit of two given lines.
//!
//! Invariant: `generate` never returns lines that `check` does not pass with the same fields;
//! it parses its own output and refuses (as an internal error) on any difference.

use std::fmt;

use time::Date;

use super::check::{check_digit, is_mrz_char};
use super::codes;
use super::name::{self, NameError, ParsedName, TD3_NAME_WIDTH};
use super::translit::{self, TranslitOptions, UntransliterableChar};

/// The length of each TD3 line.
pub const LINE_LEN: usize = 44;

/// Sex as encoded in line 2, position 21.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sex {
    /// `M`.
    Male,
    /// `F`.
    Female,
    /// `<` in the MRZ, `X` in the VIZ.
    Unspecified,
}

impl Sex {
    fn mrz(self) -> u8 {
        match self {
            Sex::Male => b'M',
            Sex::Female => b'F',
            Sex::Unspecified => b'<',
        }
    }
}

/// What goes into position 43 when the personal number (positions 29-42) is empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmptyOptionalCheck {
    /// `0` (the usual choice).
    Zero,
    /// `<`.
    Filler,
}

/// The issuing State's MRZ choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MrzOptions {
    /// Table A variant choices.
    pub translit: TranslitOptions,
    /// Position 43 for an empty personal number.
    pub empty_optional_check: EmptyOptionalCheck,
}

impl MrzOptions {
    /// Table A first forms and `0` in position 43.
    pub const ICAO_DEFAULT: Self = Self {
        translit: TranslitOptions::FIRST_FORMS,
        empty_optional_check: EmptyOptionalCheck::Zero,
    };
}

/// The fields of a TD3 MRZ as the holder's data states them (names as written, real dates).
#[derive(Clone, PartialEq, Eq)]
pub struct Td3Input<'a> {
    /// `P` or `P` plus one letter.
    pub document_code: &'a str,
    /// ICAO code without filler, e.g. `IDN` or `D`.
    pub issuing_state: &'a str,
    /// Primary identifier as written (any case, Table A letters).
    pub surname: &'a str,
    /// Secondary identifier as written; may be empty.
    pub given_names: &'a str,
    /// Up to 9 of `A-Z 0-9`.
    pub number: &'a str,
    /// ICAO code without filler.
    pub nationality: &'a str,
    /// Date of birth.
    pub date_of_birth: Date,
    /// Sex.
    pub sex: Sex,
    /// Date of expiry.
    pub date_of_expiry: Date,
    /// Up to 14 of `A-Z 0-9`; empty when unused.
    pub personal_number: &'a str,
}

impl fmt::Debug for Td3Input<'_> {
    // Personal data stays out of debug output (and so out of any log line).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Td3Input")
            .field("document_code", &self.document_code)
            .field("issuing_state", &self.issuing_state)
            .field("nationality", &self.nationality)
            .finish_non_exhaustive()
    }
}

/// A finished, self-checked TD3 MRZ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Td3 {
    /// Line 1 (44 characters).
    pub line1: String,
    /// Line 2 (44 characters).
    pub line2: String,
    /// Whether the name had to be truncated to fit 39 positions.
    pub name_truncated: bool,
    /// A letter in line 1 position 44: readers take the name as possibly truncated, even when
    /// it fitted exactly (ICAO 9303 Part 3 §4.6). Shown to the operator.
    pub possibly_truncated: bool,
}

/// Why the engine could not produce an MRZ.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MrzError {
    /// A field does not meet the MRZ rules; the job validator should have caught it.
    #[error("{field}: {reason}")]
    InvalidField {
        /// Which input field.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A name character has no MRZ form.
    #[error("{field}: {source}")]
    Untransliterable {
        /// `surname` or `given_names`.
        field: &'static str,
        /// The offending character.
        source: UntransliterableChar,
    },
    /// The name cannot be written into the name field.
    #[error("name: {0}")]
    Name(NameError),
    /// The generated lines failed their own verification. This is a bug; the job is refused.
    #[error("internal error: the generated MRZ failed verification: {0}")]
    SelfCheck(String),
}

impl std::error::Error for UntransliterableChar {}

/// Builds both lines, then parses and verifies them before returning.
pub fn generate(input: &Td3Input<'_>, opts: &MrzOptions) -> Result<Td3, MrzError> {
    let invalid = |field: &'static str, reason: &str| MrzError::InvalidField {
        field,
        reason: reason.to_owned(),
    };
    let code = input.document_code.as_bytes();
    if !(code.first() == Some(&b'P')
        && code.len() <= 2
        && code.get(1).is_none_or(u8::is_ascii_uppercase))
    {
        return Err(invalid("document_code", "must be P or P plus one letter"));
    }
    for (field, value) in [
        ("issuing_state", input.issuing_state),
        ("nationality", input.nationality),
    ] {
        if codes::lookup(value).is_none() {
            return Err(invalid(field, "not an ICAO state code"));
        }
    }
    let alnum = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    };
    if input.number.is_empty() || input.number.len() > 9 || !alnum(input.number) {
        return Err(invalid("number", "must be 1 to 9 of A-Z 0-9"));
    }
    if input.personal_number.len() > 14 || !alnum(input.personal_number) {
        return Err(invalid("personal_number", "must be up to 14 of A-Z 0-9"));
    }

    let primary = translit::components(input.surname, &opts.translit).map_err(|source| {
        MrzError::Untransliterable {
            field: "surname",
            source,
        }
    })?;
    let secondary = translit::components(input.given_names, &opts.translit).map_err(|source| {
        MrzError::Untransliterable {
            field: "given_names",
            source,
        }
    })?;
    let name = name::name_field(&primary, &secondary, TD3_NAME_WIDTH).map_err(MrzError::Name)?;

    let mut line1 = String::with_capacity(LINE_LEN);
    line1.push_str(&pad(input.document_code, 2));
    line1.push_str(&pad(input.issuing_state, 3));
    line1.push_str(&name.field);

    let number = pad(input.number, 9);
    let personal = pad(input.personal_number, 14);
    let birth = yymmdd(input.date_of_birth);
    let expiry = yymmdd(input.date_of_expiry);
    let personal_check = if input.personal_number.is_empty() {
        match opts.empty_optional_check {
            EmptyOptionalCheck::Zero => b'0',
            EmptyOptionalCheck::Filler => b'<',
        }
    } else {
        digit(&personal)?
    };
    let mut line2 = Vec::with_capacity(LINE_LEN);
    line2.extend_from_slice(number.as_bytes());
    line2.push(digit(&number)?);
    line2.extend_from_slice(pad(input.nationality, 3).as_bytes());
    line2.extend_from_slice(birth.as_bytes());
    line2.push(digit(&birth)?);
    line2.push(input.sex.mrz());
    line2.extend_from_slice(expiry.as_bytes());
    line2.push(digit(&expiry)?);
    line2.extend_from_slice(personal.as_bytes());
    line2.push(personal_check);
    let composite = composite_digit(&line2).ok_or_else(|| {
        MrzError::SelfCheck("line 2 holds a character outside A-Z 0-9 <".to_owned())
    })?;
    line2.push(composite);
    let line2 = String::from_utf8(line2)
        .map_err(|_| MrzError::SelfCheck("line 2 is not ASCII".to_owned()))?;

    let possibly_truncated = line1
        .as_bytes()
        .get(LINE_LEN - 1)
        .is_some_and(u8::is_ascii_uppercase);
    let td3 = Td3 {
        line1,
        line2,
        name_truncated: name.truncated,
        possibly_truncated,
    };
    self_check(&td3, input, &name.field)?;
    Ok(td3)
}

/// Parses the generated lines and compares every field with the input.
fn self_check(td3: &Td3, input: &Td3Input<'_>, name_field: &str) -> Result<(), MrzError> {
    let report = check(&td3.line1, &td3.line2);
    if let Some(f) = report.failures.first() {
        // Field, line and position only: the message would quote personal data.
        return Err(MrzError::SelfCheck(format!(
            "{} at line {} position {}",
            f.code, f.line, f.position
        )));
    }
    let Some(p) = report.parsed else {
        return Err(MrzError::SelfCheck("the lines did not parse".to_owned()));
    };
    let mismatches = [
        ("document code", p.document_code == input.document_code),
        ("issuing state", p.issuing_state == input.issuing_state),
        ("name", p.name_field == name_field),
        ("number", p.number == input.number),
        ("nationality", p.nationality == input.nationality),
        (
            "date of birth",
            p.date_of_birth == yymmdd(input.date_of_birth),
        ),
        ("sex", p.sex == input.sex),
        (
            "date of expiry",
            p.date_of_expiry == yymmdd(input.date_of_expiry),
        ),
        (
            "personal number",
            p.personal_number == input.personal_number,
        ),
    ];
    match mismatches.iter().find(|(_, ok)| !ok) {
        Some((field, _)) => Err(MrzError::SelfCheck(format!(
            "{field} does not read back as given"
        ))),
        None => Ok(()),
    }
}

fn digit(field: &str) -> Result<u8, MrzError> {
    check_digit(field.as_bytes()).ok_or_else(|| {
        MrzError::SelfCheck("a field holds a character without a check-digit value".to_owned())
    })
}

/// The composite check digit over line 2 positions 1-10, 14-20 and 22-43 (1-based).
fn composite_digit(line2: &[u8]) -> Option<u8> {
    if line2.len() < 43 {
        return None;
    }
    let mut input = Vec::with_capacity(39);
    input.extend_from_slice(&line2[0..10]);
    input.extend_from_slice(&line2[13..20]);
    input.extend_from_slice(&line2[21..43]);
    check_digit(&input)
}

fn pad(s: &str, width: usize) -> String {
    let mut out = s.to_owned();
    while out.len() < width {
        out.push('<');
    }
    out
}

/// A date as `YYMMDD`.
pub fn yymmdd(d: Date) -> String {
    format!(
        "{:02}{:02}{:02}",
        d.year().rem_euclid(100),
        u8::from(d.month()),
        d.day()
    )
}

/// One failed check of `check`, with its line and 1-based position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckFailure {
    /// 1 or 2.
    pub line: u8,
    /// First position of the failing field (1-based).
    pub position: usize,
    /// Stable code, e.g. `check-digit-composite`.
    pub code: &'static str,
    /// What is wrong, for a person.
    pub message: String,
}

impl fmt::Display for CheckFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {} position {}: {}: {}",
            self.line, self.position, self.code, self.message
        )
    }
}

/// The fields read from two lines (as text; dates as their raw six positions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedTd3 {
    /// Positions 1-2 of line 1 without filler.
    pub document_code: String,
    /// Positions 3-5 of line 1 without filler.
    pub issuing_state: String,
    /// Positions 6-44 of line 1 as printed.
    pub name_field: String,
    /// The name's structure, when it is valid.
    pub name: Option<ParsedName>,
    /// Positions 1-9 of line 2 without trailing filler.
    pub number: String,
    /// Positions 11-13 without filler.
    pub nationality: String,
    /// Positions 14-19 as printed (`<` for unknown parts).
    pub date_of_birth: String,
    /// Position 21.
    pub sex: Sex,
    /// Positions 22-27.
    pub date_of_expiry: String,
    /// Positions 29-42 without trailing filler.
    pub personal_number: String,
}

/// The result of checking two lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckReport {
    /// The fields, when both lines have the right length and alphabet.
    pub parsed: Option<ParsedTd3>,
    /// Every failed check; empty means valid.
    pub failures: Vec<CheckFailure>,
    /// Remarks that do not make the MRZ invalid (e.g. a possibly truncated name).
    pub notes: Vec<String>,
}

impl CheckReport {
    /// Whether every check passed.
    pub fn is_valid(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Re-checks every position of two TD3 lines: length, alphabet, document code, State codes,
/// name structure, dates, sex, the four field check digits and the composite.
pub fn check(line1: &str, line2: &str) -> CheckReport {
    let mut failures = Vec::new();
    let mut notes = Vec::new();
    let mut fail = |line: u8, position: usize, code: &'static str, message: String| {
        failures.push(CheckFailure {
            line,
            position,
            code,
            message,
        });
    };

    let mut shape_ok = true;
    for (n, line) in [(1u8, line1), (2u8, line2)] {
        let count = line.chars().count();
        if count != LINE_LEN {
            fail(
                n,
                1,
                "line-length",
                format!("line {n} has {count} characters; a TD3 line has {LINE_LEN}"),
            );
            shape_ok = false;
        }
        for (i, c) in line.chars().enumerate() {
            if !(c.is_ascii() && is_mrz_char(c as u8)) {
                fail(
                    n,
                    i + 1,
                    "bad-character",
                    format!("{c:?} is not an MRZ character (A-Z, 0-9, <)"),
                );
                shape_ok = false;
            }
        }
    }
    if !shape_ok {
        return CheckReport {
            parsed: None,
            failures,
            notes,
        };
    }
    let l1 = line1.as_bytes();
    let l2 = line2.as_bytes();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();

    // Line 1.
    if l1[0] != b'P' || !(l1[1].is_ascii_uppercase() || l1[1] == b'<') {
        fail(
            1,
            1,
            "document-code",
            format!(
                "{:?} is not a passport code (P, or P plus one letter)",
                text(&l1[0..2])
            ),
        );
    }
    let issuing_state = text(&l1[2..5]);
    if codes::lookup_mrz(&issuing_state).is_none() || !is_code_shape(&l1[2..5]) {
        fail(
            1,
            3,
            "unknown-issuing-state",
            format!("{issuing_state:?} is not an ICAO state code"),
        );
    }
    let name_field = text(&l1[5..44]);
    let name = name::parse_name_field(&name_field);
    match &name {
        None => fail(
            1,
            6,
            "name-structure",
            "the name field must be letters in components separated by one <, \
             primary and secondary identifiers separated by <<, then only filler"
                .to_owned(),
        ),
        Some(n) if n.possibly_truncated => notes
            .push("line 1 position 44 holds a letter: the name may have been truncated".to_owned()),
        Some(_) => {}
    }

    // Line 2.
    let checked = |field: &[u8], digit_at: usize| check_digit(field) == Some(l2[digit_at]);
    let number = &l2[0..9];
    if number[0] == b'<' {
        fail(
            2,
            1,
            "document-number",
            "the document number starts with a filler".to_owned(),
        );
    }
    if !checked(number, 9) {
        fail(
            2,
            10,
            "check-digit-number",
            expected_digit("document number", number, l2[9]),
        );
    }
    let nationality = text(&l2[10..13]);
    if codes::lookup_mrz(&nationality).is_none() || !is_code_shape(&l2[10..13]) {
        fail(
            2,
            11,
            "unknown-nationality",
            format!("{nationality:?} is not an ICAO state code"),
        );
    }
    // The two dates: (first index, unknown parts allowed, date code, check code, name).
    for (at, unknown_ok, date_code, digit_code, what) in [
        (
            13,
            true,
            "date-of-birth",
            "check-digit-birth",
            "date of birth",
        ),
        (
            21,
            false,
            "date-of-expiry",
            "check-digit-expiry",
            "date of expiry",
        ),
    ] {
        let field = &l2[at..at + 6];
        if let Err(why) = check_date(field, unknown_ok) {
            fail(2, at + 1, date_code, why);
        }
        if !checked(field, at + 6) {
            fail(
                2,
                at + 7,
                digit_code,
                expected_digit(what, field, l2[at + 6]),
            );
        }
    }
    let sex = match l2[20] {
        b'M' => Sex::Male,
        b'F' => Sex::Female,
        b'<' => Sex::Unspecified,
        other => {
            fail(
                2,
                21,
                "sex",
                format!("{:?} is not M, F or <", char::from(other)),
            );
            Sex::Unspecified
        }
    };
    let personal = &l2[28..42];
    let personal_empty = personal.iter().all(|&b| b == b'<');
    let personal_ok = if personal_empty {
        matches!(l2[42], b'0' | b'<')
    } else {
        checked(personal, 42)
    };
    if !personal_ok {
        let message = if personal_empty {
            format!(
                "the personal number is empty, so position 43 must be 0 or <, not {:?}",
                char::from(l2[42])
            )
        } else {
            expected_digit("personal number", personal, l2[42])
        };
        fail(2, 43, "check-digit-personal-number", message);
    }
    if composite_digit(l2) != Some(l2[43]) {
        let mut input = Vec::new();
        input.extend_from_slice(&l2[0..10]);
        input.extend_from_slice(&l2[13..20]);
        input.extend_from_slice(&l2[21..43]);
        fail(
            2,
            44,
            "check-digit-composite",
            expected_digit("composite (positions 1-10, 14-20, 22-43)", &input, l2[43]),
        );
    }

    let parsed = ParsedTd3 {
        document_code: text(&l1[0..2]).trim_end_matches('<').to_owned(),
        issuing_state: issuing_state.trim_end_matches('<').to_owned(),
        name_field,
        name,
        number: text(number).trim_end_matches('<').to_owned(),
        nationality: nationality.trim_end_matches('<').to_owned(),
        date_of_birth: text(&l2[13..19]),
        sex,
        date_of_expiry: text(&l2[21..27]),
        personal_number: text(personal).trim_end_matches('<').to_owned(),
    };
    CheckReport {
        parsed: Some(parsed),
        failures,
        notes,
    }
}

/// Letters first, then only fillers (`D<<`, `IDN`).
fn is_code_shape(field: &[u8]) -> bool {
    let letters = field.iter().take_while(|b| b.is_ascii_uppercase()).count();
    letters > 0 && field[letters..].iter().all(|&b| b == b'<')
}

fn expected_digit(what: &str, field: &[u8], found: u8) -> String {
    match check_digit(field) {
        Some(d) => format!(
            "check digit of the {what} is {:?}, expected {:?}",
            char::from(found),
            char::from(d)
        ),
        None => format!("the {what} holds characters without a check-digit value"),
    }
}

/// A `YYMMDD` field: six digits forming a real calendar day (any century), or — for a date of
/// birth only — digits with unknown parts written as `<`.
fn check_date(field: &[u8], unknown_allowed: bool) -> Result<(), String> {
    let raw = String::from_utf8_lossy(field);
    if field.iter().all(u8::is_ascii_digit) {
        let n = |i: usize| u32::from(field[i] - b'0') * 10 + u32::from(field[i + 1] - b'0');
        let (yy, mm, dd) = (n(0), n(2), n(4));
        // Day validity does not depend on the century except for 29 February; 2000 is a leap
        // year, so a 29 February in a year divisible by 4 is valid in at least one century.
        let leap = yy % 4 == 0;
        let days = match mm {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return Err(format!("{raw:?} has month {mm:02}")),
        };
        if dd == 0 || dd > days {
            return Err(format!("{raw:?} has day {dd:02}, not in month {mm:02}"));
        }
        return Ok(());
    }
    if unknown_allowed && field.iter().all(|&b| b.is_ascii_digit() || b == b'<') {
        return Ok(());
    }
    Err(format!("{raw:?} is not a YYMMDD date"))
}

#[cfg(test)]
mod tests;
