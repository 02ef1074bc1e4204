//! The central office link: signed approvals (`jws`) — the station prints only jobs whose exact
//! bytes the central office signed with a key in the station's configuration.

pub mod jws;
