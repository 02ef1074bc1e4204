//! The ICAO 9303 TD3 MRZ engine: check digits, ICAO codes, Table A transliteration, the name
//! field with truncation, line generation and a verifying parser.
//!
//! Boundary: this module knows nothing of jobs, JSON or the station's policy; it takes typed
//! fields and returns lines (or names the rule that failed).

pub mod check;
pub mod codes;
pub mod name;
pub mod settings;
pub mod td3;
pub mod translit;

pub use td3::{
    CheckFailure, CheckReport, EmptyOptionalCheck, MrzError, MrzOptions, Sex, Td3, Td3Input, check,
    generate,
};
pub use translit::TranslitOptions;
