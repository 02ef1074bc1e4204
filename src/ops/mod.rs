//! Operations as library functions the CLI prints: the station's self-check (`doctor`, one
//! function per part of the station, each returning its checks) and the support bundle's
//! contents (`bundle`, nothing personal).

pub mod bundle;
pub mod conformance;
pub mod doctor;
