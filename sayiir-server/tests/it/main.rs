//! The HTTP API against stores a real engine populated, through `tower::ServiceExt::oneshot`
//! on the router nested as an application would nest it. One test binary.

// The checks and helpers outside `#[test]` functions fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../../sayiir-cli/examples/embedded/flows.rs"]
#[allow(dead_code)]
mod flows;

mod browser;
mod checks;
mod common;
mod dashboard;
mod metrics;
mod namespaces;
mod outage;
mod roles;
mod schedules;
mod session;
mod stores;
