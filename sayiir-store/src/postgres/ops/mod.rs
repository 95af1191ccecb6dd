//! The SQL of each [`Store`](crate::Store) operation, as plain functions over a pool. Each
//! operation is one transaction (or one statement); rows of several instances are always
//! locked in id order, so two operations never deadlock on each other's row locks.

pub(super) mod audit;
mod bulk;
pub(super) mod create;
pub(super) mod gates;
pub(super) mod lease;
pub(super) mod limits;
pub(super) mod list;
pub(super) mod read;
pub(super) mod schedules;
pub(super) mod signals;
mod single;
pub(super) mod versions;
pub(super) mod workers;
pub(super) mod write;
