//! The SQL of each [`Store`](crate::Store) operation, as plain functions over a connection.

pub(super) mod audit;
pub(super) mod counts;
pub(super) mod create;
pub(super) mod gates;
pub(super) mod lease;
pub(super) mod limits;
pub(super) mod read;
pub(super) mod schedules;
pub(super) mod signals;
pub(super) mod versions;
pub(super) mod workers;
pub(super) mod write;
