//! The central office link and API access: signed approvals (`jws`) — the station prints only
//! jobs whose exact bytes the central office signed with a key in its configuration — the
//! API's users, roles and tokens (`auth`), and the link's validated settings (`link`: webhook,
//! NATS, TLS).

pub mod auth;
pub mod jws;
pub mod link;
pub mod settings;
