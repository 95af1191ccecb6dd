//! Versions: an instance is only resumed by code of its own definition (name, version,
//! definition hash and the structure of every stored type); old versions drain, are migrated
//! in place, or restarted; the lock file catches a change without a version bump.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fingerprints;
mod flows;
mod golden;
mod identity;
mod lock;
mod process_kit;
mod processes;
mod restarts;
mod strategies;
mod transitions;

use crate::common::{self, children};
