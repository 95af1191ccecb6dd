//! The guides: what a workflow body may contain, every compile and run-time error, testing,
//! resources, versions, production, operations, flow control, namespaces, schedules, the
//! command line, the HTTP API and its dashboard, performance, observability and the stored
//! format. Each page is a file of the repository's `docs/` directory; their examples are
//! compiled and run as doctests.

#[doc = include_str!(concat!(env!("OUT_DIR"), "/docs/workflow-rules.md"))]
pub mod workflow_rules {}

#[doc = include_str!(concat!(env!("OUT_DIR"), "/docs/errors.md"))]
pub mod errors {}

#[doc = include_str!(concat!(env!("OUT_DIR"), "/docs/testing.md"))]
pub mod testing {}

#[doc = include_str!(concat!(env!("OUT_DIR"), "/docs/resources.md"))]
pub mod resources {}

#[doc = include_str!(concat!(env!("OUT_DIR"), "/docs/versioning.md"))]
pub mod versioning {}

#[doc = include_str!(concat!(env!("OUT_DIR"), "/docs/production.md"))]
pub mod production {}

#[doc = include_str!(concat!(env!("OUT_DIR"), "/docs/operations.md"))]
pub mod operations {}

#[doc = include_str!(concat!(env!("OUT_DIR"), "/docs/schedules.md"))]
pub mod schedules {}
#[doc = include_str!(concat!(env!("OUT_DIR"), "/docs/flow-control.md"))]
pub mod flow_control {}

#[doc = include_str!(concat!(env!("OUT_DIR"), "/docs/namespaces.md"))]
pub mod namespaces {}

#[doc = include_str!(concat!(env!("OUT_DIR"), "/docs/cli.md"))]
pub mod cli {}

#[doc = include_str!(concat!(env!("OUT_DIR"), "/docs/server.md"))]
pub mod server {}

#[doc = include_str!(concat!(env!("OUT_DIR"), "/docs/dashboard.md"))]
pub mod dashboard {}

#[doc = include_str!(concat!(env!("OUT_DIR"), "/docs/performance.md"))]
pub mod performance {}

#[doc = include_str!(concat!(env!("OUT_DIR"), "/docs/observability.md"))]
pub mod observability {}

#[doc = include_str!(concat!(env!("OUT_DIR"), "/docs/format.md"))]
pub mod format {}
