//! Criterion benchmark: TD3 MRZ generation (including the built-in parse-and-verify) per record,
//! checking two given lines, and the independent `mrz` crate's emitter as a baseline.

use criterion::{Criterion, criterion_group, criterion_main};
use pstation::mrz::{self, MrzOptions, Sex, Td3Input};
use std::hint::black_box;
use time::macros::date;

fn bench(c: &mut Criterion) {
    let short = Td3Input {
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
    };
    let long = Td3Input {
        surname: "Prawirodirjo",
        given_names: "Raden Mas Bagus Wicaksono Adiningrat",
        personal_number: "64710150031500",
        ..short.clone()
    };
    let opts = MrzOptions::ICAO_DEFAULT;
    c.bench_function("mrz_generate_short_name", |b| {
        b.iter(|| mrz::generate(black_box(&short), &opts))
    });
    c.bench_function("mrz_generate_truncated_name", |b| {
        b.iter(|| mrz::generate(black_box(&long), &opts))
    });
    let theirs = ::mrz::Td3Fields {
        issuing_country: "IDN".into(),
        document_number: "X1234567".into(),
        surname: "Santoso".into(),
        given_names: "Budi".into(),
        nationality: "IDN".into(),
        date_of_birth: ::mrz::MrzDate::Calendar(::mrz::Date::new(1990, 1, 1)),
        sex: ::mrz::Sex::Male,
        date_of_expiry: ::mrz::MrzDate::Calendar(::mrz::Date::new(2035, 1, 1)),
        ..Default::default()
    };
    c.bench_function("baseline_mrz_crate_format_td3_short_name", |b| {
        b.iter(|| ::mrz::format_td3(black_box(&theirs)))
    });
    c.bench_function("mrz_check_two_lines", |b| {
        b.iter(|| {
            mrz::check(
                black_box("P<IDNSANTOSO<<BUDI<<<<<<<<<<<<<<<<<<<<<<<<<<"),
                black_box("X1234567<7IDN9001011M3501014<<<<<<<<<<<<<<02"),
            )
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
