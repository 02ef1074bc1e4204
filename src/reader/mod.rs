//! The document reader: a second device kind beside the printer, that reads a printed booklet's
//! MRZ back before handover. The byte protocol is `pstation-reader` (sans-IO, in `drivers/`);
//! here is what the station makes of it.
//!
//! - `settings`: the `[reader]` section and the reader's device URI.
//! - `link`: the task that owns the serial line, decodes and reports.
//! - `verdict`: a read against the lines the station printed — match, or exactly which
//!   positions differ, which could not be read, or that the read is another booklet's.

pub mod link;
pub mod settings;
pub mod verdict;

pub use pstation_reader::{Document, Event, Framing, Garbled};
pub use settings::{RawReader, ReaderSettings, ReaderUri};
pub use verdict::{Difference, Verdict, judge, read_number};
