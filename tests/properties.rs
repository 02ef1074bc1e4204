//! Property tests of the MRZ engine and the job parser: generated records always give two
//! 44-character lines that parse back to the same fields with every check digit verified;
//! truncated names end on a letter; no input makes the parser or the checker panic.

use proptest::prelude::*;
use pstation::job::{ValidateOptions, parse_job};
use pstation::mrz::name::{TD3_NAME_WIDTH, name_field, parse_name_field};
use pstation::mrz::{self, EmptyOptionalCheck, MrzOptions, Sex, Td3Input, TranslitOptions};
use time::{Date, Month};

/// Name text as a central office might send it: Latin letters (some with Table A diacritics),
/// spaces, hyphens, apostrophes and dots.
fn name_text() -> impl Strategy<Value = String> {
    proptest::string::string_regex(
        "[A-Za-zÀ-ÖØ-öø-ÿĀ-ķĹ-ž]{1,14}([ '.-][A-Za-zÄÖÜÑÅßéè]{1,12}){0,5}",
    )
    .expect("regex")
}

fn date_in(years: std::ops::RangeInclusive<i32>) -> impl Strategy<Value = Date> {
    (years, 1u8..=12, 1u8..=28).prop_map(|(y, m, d)| {
        let month = Month::try_from(m).expect("1..=12");
        Date::from_calendar_date(y, month, d).expect("day 1..=28 exists in every month")
    })
}

fn code() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["IDN", "UTO", "D", "XXA", "GBD", "NLD", "EUE", "MYS"])
}

#[derive(Debug, Clone)]
struct Record {
    doc_code: String,
    state: &'static str,
    surname: String,
    given: String,
    number: String,
    nationality: &'static str,
    birth: Date,
    sex: Sex,
    expiry: Date,
    personal: String,
    filler_43: bool,
}

fn record() -> impl Strategy<Value = Record> {
    (
        (
            prop::sample::select(vec!["P", "PD", "PS", "PO"]),
            code(),
            name_text(),
            prop_oneof![Just(String::new()), name_text()],
            "[A-Z0-9]{1,9}",
            code(),
        ),
        (
            date_in(1900..=2025),
            prop::sample::select(vec![Sex::Male, Sex::Female, Sex::Unspecified]),
            date_in(2026..=2099),
            prop_oneof![Just(String::new()), "[A-Z0-9]{1,14}"],
            any::<bool>(),
        ),
    )
        .prop_map(
            |(
                (doc_code, state, surname, given, number, nationality),
                (birth, sex, expiry, personal, filler_43),
            )| Record {
                doc_code: doc_code.to_owned(),
                state,
                surname,
                given,
                number,
                nationality,
                birth,
                sex,
                expiry,
                personal,
                filler_43,
            },
        )
}

impl Record {
    fn input(&self) -> Td3Input<'_> {
        Td3Input {
            document_code: &self.doc_code,
            issuing_state: self.state,
            surname: &self.surname,
            given_names: &self.given,
            number: &self.number,
            nationality: self.nationality,
            date_of_birth: self.birth,
            sex: self.sex,
            date_of_expiry: self.expiry,
            personal_number: &self.personal,
        }
    }

    fn options(&self) -> MrzOptions {
        MrzOptions {
            translit: TranslitOptions::FIRST_FORMS,
            empty_optional_check: if self.filler_43 {
                EmptyOptionalCheck::Filler
            } else {
                EmptyOptionalCheck::Zero
            },
        }
    }
}

/// ICAO 9303 Part 3 §4.9, written out again here as a test oracle.
fn check_digit_oracle(field: &[u8]) -> u8 {
    let sum: u32 = field
        .iter()
        .zip([7u32, 3, 1].iter().cycle())
        .map(|(&c, w)| {
            let v = match c {
                b'0'..=b'9' => u32::from(c - b'0'),
                b'A'..=b'Z' => u32::from(c - b'A') + 10,
                _ => 0,
            };
            v * w
        })
        .sum();
    b'0' + (sum % 10) as u8
}

fn yymmdd(d: Date) -> String {
    format!(
        "{:02}{:02}{:02}",
        d.year() % 100,
        u8::from(d.month()),
        d.day()
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn generated_lines_are_well_formed_and_parse_back(r in record()) {
        let td3 = mrz::generate(&r.input(), &r.options());
        // Only a pathological name (one-letter components only) may be refused.
        let td3 = match td3 {
            Ok(t) => t,
            Err(mrz::MrzError::Name(_)) => return Ok(()),
            Err(e) => return Err(TestCaseError::fail(format!("{e}"))),
        };
        for line in [&td3.line1, &td3.line2] {
            prop_assert_eq!(line.len(), 44);
            prop_assert!(line.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'<'));
        }
        let report = mrz::check(&td3.line1, &td3.line2);
        prop_assert!(report.is_valid(), "{:?}", report.failures);
        let p = report.parsed.expect("parsed");
        prop_assert_eq!(&p.document_code, &r.doc_code);
        prop_assert_eq!(p.issuing_state, r.state);
        prop_assert_eq!(&p.number, &r.number);
        prop_assert_eq!(p.nationality, r.nationality);
        prop_assert_eq!(p.date_of_birth, yymmdd(r.birth));
        prop_assert_eq!(p.date_of_expiry, yymmdd(r.expiry));
        prop_assert_eq!(p.sex, r.sex);
        prop_assert_eq!(&p.personal_number, &r.personal);
        if td3.name_truncated {
            prop_assert!(td3.line1.as_bytes()[43].is_ascii_uppercase(), "{}", td3.line1);
        }
    }

    #[test]
    fn a_name_that_fits_is_never_truncated_and_reads_back_whole(
        p in prop::collection::vec("[A-Z]{1,12}", 1..4),
        s in prop::collection::vec("[A-Z]{1,12}", 0..4),
    ) {
        let full = p.join("<").len() + if s.is_empty() { 0 } else { 2 + s.join("<").len() };
        let f = name_field(&p, &s, TD3_NAME_WIDTH).expect("A-Z components");
        prop_assert_eq!(f.field.len(), TD3_NAME_WIDTH);
        let parsed = parse_name_field(&f.field).expect("valid structure");
        if full <= TD3_NAME_WIDTH {
            prop_assert!(!f.truncated);
            prop_assert_eq!(parsed.primary, p);
            prop_assert_eq!(parsed.secondary, s);
        } else {
            prop_assert!(f.truncated);
            prop_assert!(f.field.as_bytes()[TD3_NAME_WIDTH - 1].is_ascii_uppercase());
            // Truncation keeps the first primary component's first letter and, when there is a
            // secondary identifier, at least its first letter.
            prop_assert_eq!(&parsed.primary[0][..1], &p[0][..1]);
            if !s.is_empty() {
                prop_assert_eq!(&parsed.secondary[0][..1], &s[0][..1]);
            }
        }
    }

    #[test]
    fn any_two_lines_can_be_checked_and_a_valid_verdict_is_right(
        l1 in "[A-Z0-9<]{40,46}|[A-Z0-9<a-z ]{44}",
        l2 in "[A-Z0-9<]{40,46}|[A-Z0-9<a-z ]{44}|[A-Z0-9<]{9}[0-9][A-Z]{3}[0-9]{7}[MF<][0-9]{7}[A-Z0-9<]{14}[0-9][0-9]",
    ) {
        let report = mrz::check(&l1, &l2);
        if report.is_valid() {
            // Recompute the check digits independently of the checker.
            let b = l2.as_bytes();
            let cd = |s: &[u8]| check_digit_oracle(s);
            prop_assert_eq!(b.len(), 44);
            prop_assert_eq!(cd(&b[0..9]), b[9]);
            prop_assert_eq!(cd(&b[13..19]), b[19]);
            prop_assert_eq!(cd(&b[21..27]), b[27]);
            let composite: Vec<u8> = [&b[0..10], &b[13..20], &b[21..43]].concat();
            prop_assert_eq!(cd(&composite), b[43]);
        } else {
            prop_assert!(report.failures.iter().all(|f| (1..=44).contains(&f.position) || f.code == "line-length"));
        }
    }

    #[test]
    fn single_character_changes_to_checked_fields_are_caught(
        r in record(),
        pos in prop::sample::select(vec![0usize, 3, 8, 13, 16, 18, 21, 24, 26]),
        delta in 1u8..10,
    ) {
        let Ok(td3) = mrz::generate(&r.input(), &r.options()) else { return Ok(()); };
        let mut l2 = td3.line2.into_bytes();
        // Replace with a digit whose value differs mod 10: every check digit catches that.
        let old = l2[pos];
        let old_value = match old { b'0'..=b'9' => old - b'0', b'A'..=b'Z' => (old - b'A' + 10) % 10, _ => 0 };
        l2[pos] = b'0' + (old_value + delta) % 10;
        let l2 = String::from_utf8(l2).expect("ascii");
        let report = mrz::check(&td3.line1, &l2);
        prop_assert!(report.failures.iter().any(|f| f.code == "check-digit-composite"), "{}", l2);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn arbitrary_bytes_never_panic_the_job_parser(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = parse_job(&bytes, &ValidateOptions { require_portrait: true });
    }

    #[test]
    fn arbitrary_values_in_every_field_never_panic_and_accepted_values_are_kept(
        values in prop::collection::vec(prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            ".{0,20}".prop_map(serde_json::Value::from),
            "[A-Z0-9]{0,16}".prop_map(serde_json::Value::from),
            "(19|20)[0-9]{2}-[0-1][0-9]-[0-3][0-9]".prop_map(serde_json::Value::from),
            "[A-Za-zÀ-ž' .-]{0,30}".prop_map(serde_json::Value::from),
        ], 15),
    ) {
        const FIELDS: [&str; 15] = [
            "code", "issuing_state", "number", "surname", "given_names", "nationality",
            "date_of_birth", "sex", "place_of_birth", "date_of_issue", "date_of_expiry",
            "authority", "personal_number", "registration_number", "married",
        ];
        let mut doc = serde_json::Map::new();
        for (k, v) in FIELDS.iter().zip(&values) {
            doc.insert((*k).to_owned(), v.clone());
        }
        let job = serde_json::json!({"schema": 1, "job_id": "J", "document": doc});
        let bytes = serde_json::to_vec(&job).expect("serialise");
        match parse_job(&bytes, &ValidateOptions { require_portrait: false }) {
            Ok(job) => {
                prop_assert_eq!(Some(&serde_json::Value::from(job.document.number.clone())), doc.get("number"));
                prop_assert!(job.document.date_of_expiry > job.document.date_of_issue);
            }
            Err(problems) => {
                for p in &problems.0 {
                    prop_assert!(p.path == "$" || p.path.starts_with("document"), "{}", p);
                }
            }
        }
    }
}

/// The key the JWS properties verify against.
fn jws_key() -> ed25519_dalek::SigningKey {
    ed25519_dalek::SigningKey::from_bytes(&[42; 32])
}

fn jws_ring() -> pstation::central::jws::Keyring {
    let mut r = pstation::central::jws::Keyring::default();
    r.insert("co-1", jws_key().verifying_key()).expect("key");
    r
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic_the_jws_verifier_and_are_refused(
        bytes in prop::collection::vec(any::<u8>(), 0..600)
    ) {
        let r = pstation::central::jws::verify(&bytes, &jws_ring(), 1_000);
        prop_assert!(r.is_err());
    }

    #[test]
    fn three_arbitrary_base64url_parts_never_verify(
        parts in prop::collection::vec("[A-Za-z0-9_-]{0,120}", 3)
    ) {
        let compact = parts.join(".");
        prop_assert!(pstation::central::jws::verify(compact.as_bytes(), &jws_ring(), 1_000).is_err());
    }

}

proptest! {
    // Each case signs and verifies twice (slow in a debug build): fewer cases.
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn any_single_character_changed_in_a_signed_job_is_refused(
        job in prop::collection::vec(any::<u8>(), 1..300),
        at in any::<prop::sample::Index>(),
        to in "[A-Za-z0-9_.-]",
    ) {
        let signed = pstation::central::jws::sign(&job, &jws_key(), "co-1", 2_000);
        let ring = jws_ring();
        let ok = pstation::central::jws::verify(signed.as_bytes(), &ring, 1_000).expect("valid");
        prop_assert_eq!(&ok.job, &job);
        let i = at.index(signed.len());
        let mut changed = signed.clone().into_bytes();
        let c = to.as_bytes()[0];
        prop_assume!(changed[i] != c);
        changed[i] = c;
        prop_assert!(pstation::central::jws::verify(&changed, &ring, 1_000).is_err());
    }
}
