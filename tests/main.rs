//! The integration tests: one binary, one module per area.

mod cli;
mod console;
mod daemon;
mod differential;
mod families;
mod fixtures;
mod layout;
mod nats;
mod openapi;
mod packaging;
mod printer;
mod privacy;
mod properties;
mod readback;
mod readme;
mod store;
mod tidy;
mod tls;
mod util;
