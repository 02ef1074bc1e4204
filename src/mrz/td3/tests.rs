//! The TD3 MRZ's tests: the reference vectors, check digits, every failed check named, bad fields refused.

use super::*;
use time::macros::date;

fn budi() -> Td3Input<'static> {
    Td3Input {
        document_code: "P",
        issuing_state: "IDN",
        surname: "Santoso",
        given_names: "Budi",
        number: "X1234567",
        nationality: "IDN",
        date_of_birth: date!(1990 - 01 - 01),
        sex: Sex::Male,
        date_of_expiry: date!(2035 - 01 - 01),
        personal_number: "",
    }
}

#[test]
fn reference_vector_synthetic_idn_santoso_budi() {
    let td3 = generate(&budi(), &MrzOptions::ICAO_DEFAULT).expect("valid");
    assert_eq!(td3.line1, "P<IDNSANTOSO<<BUDI<<<<<<<<<<<<<<<<<<<<<<<<<<");
    assert_eq!(td3.line2, "X1234567<7IDN9001011M3501014<<<<<<<<<<<<<<02");
    assert!(!td3.name_truncated);
}

#[test]
fn reference_vector_with_filler_in_position_43() {
    let opts = MrzOptions {
        empty_optional_check: EmptyOptionalCheck::Filler,
        ..MrzOptions::ICAO_DEFAULT
    };
    let td3 = generate(&budi(), &opts).expect("valid");
    assert_eq!(td3.line2, "X1234567<7IDN9001011M3501014<<<<<<<<<<<<<<<2");
}

#[test]
fn reference_vector_icao_specimen_eriksson() {
    let input = Td3Input {
        document_code: "P",
        issuing_state: "UTO",
        surname: "Eriksson",
        given_names: "Anna Maria",
        number: "L898902C3",
        nationality: "UTO",
        date_of_birth: date!(1974 - 08 - 12),
        sex: Sex::Female,
        date_of_expiry: date!(2012 - 04 - 15),
        personal_number: "ZE184226B",
    };
    let td3 = generate(&input, &MrzOptions::ICAO_DEFAULT).expect("valid");
    assert_eq!(td3.line1, "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<");
    assert_eq!(td3.line2, "L898902C36UTO7408122F1204159ZE184226B<<<<<10");
}

#[test]
fn reference_vector_mononym_partini() {
    let input = Td3Input {
        surname: "Partini",
        given_names: "",
        number: "X7654321",
        date_of_birth: date!(1952 - 08 - 17),
        sex: Sex::Female,
        date_of_expiry: date!(2030 - 01 - 01),
        ..budi()
    };
    let td3 = generate(&input, &MrzOptions::ICAO_DEFAULT).expect("valid");
    assert_eq!(td3.line1, "P<IDNPARTINI<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<");
    assert_eq!(td3.line2, "X7654321<5IDN5208177F3001019<<<<<<<<<<<<<<08");
}

#[test]
fn reference_lines_all_check_out() {
    let vectors = [
        (
            "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
            "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
        ),
        (
            "P<IDNSANTOSO<<BUDI<<<<<<<<<<<<<<<<<<<<<<<<<<",
            "X1234567<7IDN9001011M3501014<<<<<<<<<<<<<<02",
        ),
        (
            "P<IDNSANTOSO<<BUDI<<<<<<<<<<<<<<<<<<<<<<<<<<",
            "X1234567<7IDN9001011M3501014<<<<<<<<<<<<<<<2",
        ),
        (
            "P<IDNPARTINI<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<",
            "X7654321<5IDN5208177F3001019<<<<<<<<<<<<<<08",
        ),
        (
            "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
            "HA672242<6YTO5802254M9601086<<<<<<<<<<<<<<08",
        ),
    ];
    for (l1, l2) in vectors {
        let r = check(l1, l2);
        // YTO (the composite example's state) is not a real code; only that may fail.
        let codes: Vec<_> = r.failures.iter().map(|f| f.code).collect();
        if l2.starts_with("HA") {
            assert_eq!(codes, ["unknown-nationality"], "{l2}");
        } else {
            assert!(r.is_valid(), "{l1} {l2}: {:?}", r.failures);
        }
    }
}

#[test]
fn a_changed_character_fails_its_check_digit_and_the_composite() {
    let l1 = "P<IDNSANTOSO<<BUDI<<<<<<<<<<<<<<<<<<<<<<<<<<";
    // Number, birth date and expiry each changed once.
    for (pos, code) in [
        (2, "check-digit-number"),
        (16, "check-digit-birth"),
        (23, "check-digit-expiry"),
    ] {
        let mut l2: Vec<u8> = b"X1234567<7IDN9001011M3501014<<<<<<<<<<<<<<02".to_vec();
        l2[pos] = if l2[pos] == b'2' { b'3' } else { b'2' };
        let l2 = String::from_utf8(l2).expect("ascii");
        let r = check(l1, &l2);
        let codes: Vec<_> = r.failures.iter().map(|f| f.code).collect();
        assert!(codes.contains(&code), "{l2}: {codes:?}");
        assert!(codes.contains(&"check-digit-composite"), "{l2}: {codes:?}");
    }
}

#[test]
fn wrong_length_lower_case_and_letter_at_44_are_reported() {
    let l1 = "P<IDNSANTOSO<<BUDI<<<<<<<<<<<<<<<<<<<<<<<<<<";
    let l2 = "X1234567<7IDN9001011M3501014<<<<<<<<<<<<<<02";
    let r = check(&format!("{l1}<"), l2);
    assert_eq!(r.failures[0].code, "line-length");
    let r = check(l1, &l2[..43]);
    assert_eq!(r.failures[0].code, "line-length");
    let r = check(&l1.replace("BUDI", "Budi"), l2);
    assert_eq!(r.failures[0].code, "bad-character");
    assert_eq!(r.failures[0].position, 16);
    let r = check(&l1.replace("BUDI", "BUD1"), l2);
    assert_eq!(r.failures[0].code, "name-structure");
    let long = "P<IDNSANTOSO<<BUDIABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let r = check(long, l2);
    assert!(r.is_valid());
    assert_eq!(r.notes.len(), 1);
}

#[test]
fn invalid_dates_and_sex_are_caught_even_when_digits_agree() {
    // Month 13 with a matching check digit: 901301 → 7*9+3*0+1*1+7*3+3*0+1*1 = 86 → 6.
    let l1 = "P<IDNSANTOSO<<BUDI<<<<<<<<<<<<<<<<<<<<<<<<<<";
    let mut l2 = *b"X1234567<7IDN9013016M3501014<<<<<<<<<<<<<<00";
    let composite = composite_digit(&l2).expect("mrz chars");
    l2[43] = composite;
    let l2 = String::from_utf8(l2.to_vec()).expect("ascii");
    let r = check(l1, &l2);
    let codes: Vec<_> = r.failures.iter().map(|f| f.code).collect();
    assert_eq!(codes, ["date-of-birth"]);
    let r = check(l1, &l2.replacen('M', "X", 1));
    assert!(r.failures.iter().any(|f| f.code == "sex"));
}

#[test]
fn refuses_bad_fields_instead_of_producing_lines() {
    let opts = MrzOptions::ICAO_DEFAULT;
    let bad = [
        Td3Input {
            document_code: "V",
            ..budi()
        },
        Td3Input {
            issuing_state: "XYZ",
            ..budi()
        },
        Td3Input {
            number: "X12345678901",
            ..budi()
        },
        Td3Input {
            personal_number: "abc",
            ..budi()
        },
        Td3Input {
            surname: "Иванов",
            ..budi()
        },
        Td3Input {
            surname: "-",
            ..budi()
        },
    ];
    for input in bad {
        assert!(generate(&input, &opts).is_err(), "{input:?}");
    }
}
