//! The aibid service crate: configuration, persistence, task queue, HTTP API, workers, scheduler, web UI and the
//! pipeline commands. `main.rs` only parses the command line and picks a role.

pub mod cli;
pub mod config;
pub mod files;
pub mod http;
pub mod metrics;
pub mod pipeline;
pub mod queue;
pub mod server;
pub mod store;
pub mod worker;
