//! Printers: device URIs, transports, and the PJL + PCL driver that turns pages into a confirmed
//! outcome. The protocol itself (sans-IO) lives in the `pstation-pjl` crate under `drivers/`.
//!
//! Boundary: a second printer family is a new module (or crate) with its own driver beside
//! `pjl_driver`; the station will talk to drivers only through their confirmed outcomes.

pub mod driver;
pub mod pjl_driver;
pub mod reasons;
pub mod transport;
pub mod uri;
