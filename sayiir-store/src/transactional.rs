//! Writing in the application's own transaction: the outbox pattern.

use std::future::Future;

use crate::{
    Created, DefinitionRecord, InstanceId, InstanceRecord, Namespace, NewInstance, NewSignal,
    StoreError,
};

/// A database connection of the application's own, in whose transaction the store's
/// creations and signals are written, so that they commit or roll back with the application's
/// other writes of that transaction: "insert the order row and start its workflow" as one.
/// The runtime's `Engine::start_in` and `Engine::signal_in` take one.
///
/// Each method does what the [`Store`](crate::Store) method of the same name does, with the
/// same SQL, except that it commits nothing itself: its writes become visible (to workers, to
/// the store's own connections) when the application commits, and vanish if it rolls back. A
/// method that fails has written nothing: its writes are in a savepoint, rolled back on an
/// error, so a refusal (an unknown instance, a finished one) leaves the application's
/// transaction usable.
///
/// Implemented for:
///
/// - `&mut sqlx::PgConnection` (feature `postgres`): `&mut *tx` (or `&mut tx`) for a
///   `sqlx::Transaction<'_, Postgres>` of `pool.begin()` (or a connection's `begin()`). The
///   wake-up notification the store sends to idle workers is sent in the transaction too, and
///   PostgreSQL delivers it at the commit. The connection must reach the store's database,
///   with the store's tables in its `search_path`. A connection outside any transaction works
///   too: each method then commits on its own. sqlx does not see a transaction opened by a
///   plain `BEGIN` statement: the method would commit it, so open it with `begin()`.
/// - `&rusqlite::Transaction<'_>` and `&rusqlite::Connection` (feature `sqlite`): a
///   connection of the application's own to the store's database file (opened by the
///   application; the store created the schema). A connection outside a transaction commits
///   each method on its own. Open the transaction with
///   `conn.transaction_with_behavior(TransactionBehavior::Immediate)`: SQLite has one writer
///   at a time, and a deferred transaction that has read before it writes fails with
///   `SQLITE_BUSY` when a worker committed meanwhile. The store waits for the write lock of
///   the application's transaction like any other writer (its busy timeout): keep the
///   transaction short. There is no wake-up notification on SQLite.
///
/// The trait is sealed: the SQL is the store's.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a connection sayiir can write in",
    label = "expected the application's database connection or transaction",
    note = "pass `&mut *tx` for a `sqlx::Transaction<'_, Postgres>` (feature `postgres`), \
            `&tx` for a `rusqlite::Transaction` or `&conn` for a `rusqlite::Connection` \
            (feature `sqlite`)"
)]
pub trait Transactional: sealed::Sealed {
    /// Whether the store's own writes wait while this connection's transaction holds its
    /// write lock (SQLite: one writer per database file). A caller holding such a transaction
    /// must not wait for a write of the store meanwhile: it would wait for itself until the
    /// busy timeout.
    const LOCKS_OUT_THE_STORE: bool;

    /// The head of an instance of namespace `ns`, as this connection sees it (its own
    /// transaction's writes included), as [`Store::load`](crate::Store::load) of a handle
    /// bound to `ns`.
    fn load(
        &mut self,
        ns: &Namespace,
        id: &InstanceId,
    ) -> impl Future<Output = Result<InstanceRecord, StoreError>>;

    /// Inserts a new instance in namespace `ns`, or returns the existing one with that id
    /// unchanged, as [`Store::create`](crate::Store::create) of a handle bound to `ns`.
    fn create(
        &mut self,
        ns: &Namespace,
        new: NewInstance,
    ) -> impl Future<Output = Result<Created, StoreError>>;

    /// Buffers a signal for a running instance of namespace `ns` and makes it due, as
    /// [`Store::send_signal`](crate::Store::send_signal) of a handle bound to `ns` (same
    /// errors). Returns its id.
    fn send_signal(
        &mut self,
        ns: &Namespace,
        signal: NewSignal,
    ) -> impl Future<Output = Result<u64, StoreError>>;

    /// Registers definitions (first registration wins), as
    /// [`Store::save_definitions`](crate::Store::save_definitions).
    fn save_definitions(
        &mut self,
        definitions: Vec<DefinitionRecord>,
    ) -> impl Future<Output = Result<(), StoreError>>;
}

pub(crate) mod sealed {
    /// Keeps [`Transactional`](super::Transactional) implemented by this crate only.
    pub trait Sealed {}
}
