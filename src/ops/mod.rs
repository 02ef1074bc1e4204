//! Operations as library functions the CLI prints: the station's self-check (`doctor`), one
//! function per part of the station, each returning its checks.

pub mod doctor;
