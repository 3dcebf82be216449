//! aibid operator: turns a `BiddingDeployment` into the running aibid stack (see DESIGN.md "Operator").
//! `render` says what the cluster should look like, `reconcile` applies it, `status` reports it.

pub mod backup_status;
pub mod capabilities;
pub mod crd;
pub mod diagnose;
pub mod error;
pub mod lease;
pub mod metrics;
pub mod quantity;
pub mod reconcile;
pub mod render;
pub mod restore_controller;
pub mod run;
pub mod status;
