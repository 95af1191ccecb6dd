//! Versions: an instance is only resumed by code of its own definition (name, version,
//! definition hash and the structure of every stored type); old versions drain, are migrated
//! in place, or restarted; the lock file catches a change without a version bump.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/children.rs"]
mod children;
mod common;

#[path = "versions_parts/fingerprints.rs"]
mod fingerprints;
#[path = "versions_parts/flows.rs"]
mod flows;
#[path = "versions_parts/golden.rs"]
mod golden;
#[path = "versions_parts/identity.rs"]
mod identity;
#[path = "versions_parts/lock.rs"]
mod lock;
#[path = "versions_parts/process_kit.rs"]
mod process_kit;
#[path = "versions_parts/processes.rs"]
mod processes;
#[path = "versions_parts/restarts.rs"]
mod restarts;
#[path = "versions_parts/strategies.rs"]
mod strategies;
