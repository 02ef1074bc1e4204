//! pstation: the passport print station controller. This library holds everything the
//! `pstation` binary does; `main.rs` is only argument parsing, logging set-up and exit codes.

pub mod api;
pub mod central;
pub mod chip;
pub mod cli;
pub mod client;
pub mod clock;
pub mod config;
pub mod fsio;
pub mod job;
pub mod layout;
pub mod logging;
pub mod mrz;
pub mod ops;
pub mod policy;
pub mod printer;
pub mod privacy;
pub mod problem;
pub mod reader;
pub mod retry;
pub mod station;
pub mod store;

/// Today's date at the given UTC offset.
pub fn today_at(offset: time::UtcOffset) -> time::Date {
    time::OffsetDateTime::now_utc().to_offset(offset).date()
}
