//! The central office link and API access: signed approvals (`jws`) — the station prints only
//! jobs whose exact bytes the central office signed with a key in its configuration — and the
//! API's users, roles and tokens (`auth`).

pub mod auth;
pub mod jws;
