//! Differential test against an independent implementation, the `mrz` crate (MIT), on generated
//! records: where both emit, the lines must be identical, and the `mrz` parser must verify every
//! check digit of our lines and read back the same fields.

use proptest::prelude::*;
use pstation::mrz::{self, MrzOptions, Sex, Td3Input};
use time::{Date, Month};

fn to_theirs(d: Date) -> ::mrz::MrzDate {
    ::mrz::MrzDate::Calendar(::mrz::Date::new(
        d.year(),
        u32::from(u8::from(d.month())),
        u32::from(d.day()),
    ))
}

fn date_in(years: std::ops::RangeInclusive<i32>) -> impl Strategy<Value = Date> {
    (years, 1u8..=12, 1u8..=28).prop_map(|(y, m, d)| {
        Date::from_calendar_date(y, Month::try_from(m).expect("month"), d).expect("date")
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn lines_agree_with_the_mrz_crate(
        surname in "[A-Z]{1,10}( [A-Z]{1,8})?",
        given in prop_oneof![Just(String::new()), "[A-Z]{1,8}( [A-Z]{1,8}){0,2}"],
        number in "[A-Z][0-9]{7}|[A-Z0-9]{9}",
        state in prop::sample::select(vec!["IDN", "UTO", "NLD", "XXA", "D"]),
        birth in date_in(1930..=2025),
        expiry in date_in(2026..=2099),
        sex in prop::sample::select(vec![Sex::Male, Sex::Female, Sex::Unspecified]),
        personal in prop_oneof![Just(String::new()), "[A-Z0-9]{1,14}"],
    ) {
        let ours = mrz::generate(
            &Td3Input {
                document_code: "P",
                issuing_state: state,
                surname: &surname,
                given_names: &given,
                number: &number,
                nationality: state,
                date_of_birth: birth,
                sex,
                date_of_expiry: expiry,
                personal_number: &personal,
            },
            &MrzOptions::ICAO_DEFAULT,
        )
        .expect("valid record");

        // Their parser verifies every check digit of our lines.
        let parsed = ::mrz::parse_td3(&ours.line1, &ours.line2).expect("mrz crate parses");
        prop_assert!(parsed.valid(), "{}\n{}\n{:?}", ours.line1, ours.line2, parsed.checks);
        prop_assert_eq!(&parsed.document_number, &number);
        prop_assert_eq!(parsed.date_of_birth.to_string().get(2..).map(str::to_owned),
            Some(format!("{:02}-{:02}-{:02}", birth.year() % 100, u8::from(birth.month()), birth.day())));

        // Where their emitter can express the record (it does not truncate), the lines match.
        if !ours.name_truncated {
            let theirs = ::mrz::format_td3(&::mrz::Td3Fields {
                document_code: "P".into(),
                issuing_country: state.into(),
                document_number: number.clone(),
                surname: surname.clone(),
                given_names: given.clone(),
                nationality: state.into(),
                date_of_birth: to_theirs(birth),
                sex: match sex {
                    Sex::Male => ::mrz::Sex::Male,
                    Sex::Female => ::mrz::Sex::Female,
                    Sex::Unspecified => ::mrz::Sex::Unspecified,
                },
                date_of_expiry: to_theirs(expiry),
                personal_number: if personal.is_empty() { None } else { Some(personal.clone()) },
            });
            prop_assert_eq!(theirs, format!("{}\n{}", ours.line1, ours.line2));
        }
    }
}

#[test]
fn both_implementations_transliterate_table_a_alike() {
    for (surname, given) in [
        ("Müller", "Jürgen"),
        ("Ångström", "Åsa Öberg"),
        ("Muñoz", "José María"),
        ("Strauß", "Ænne"),
    ] {
        let ours = mrz::generate(
            &Td3Input {
                document_code: "P",
                issuing_state: "D",
                surname,
                given_names: given,
                number: "C01X00T47",
                nationality: "D",
                date_of_birth: Date::from_calendar_date(1964, Month::August, 12).expect("date"),
                sex: Sex::Female,
                date_of_expiry: Date::from_calendar_date(2030, Month::October, 31).expect("date"),
                personal_number: "",
            },
            &MrzOptions::ICAO_DEFAULT,
        )
        .expect("valid");
        let theirs = ::mrz::format_td3(&::mrz::Td3Fields {
            issuing_country: "D".into(),
            document_number: "C01X00T47".into(),
            surname: surname.into(),
            given_names: given.into(),
            nationality: "D".into(),
            date_of_birth: ::mrz::MrzDate::Calendar(::mrz::Date::new(1964, 8, 12)),
            sex: ::mrz::Sex::Female,
            date_of_expiry: ::mrz::MrzDate::Calendar(::mrz::Date::new(2030, 10, 31)),
            ..Default::default()
        });
        assert_eq!(
            theirs.split('\n').next(),
            Some(ours.line1.as_str()),
            "{surname} {given}"
        );
    }
}
