//! [`Transactional`] on the application's SQLite connection: the store's operations, on that
//! connection, in a savepoint of its transaction (or a transaction of their own).

use std::path::Path;

use rusqlite::{Connection, Transaction};

use super::fail::Fail;
use super::ops::counts::Deltas;
use super::ops::{create, read, signals, versions};
use crate::transactional::sealed::Sealed;
use crate::{
    Created, DefinitionRecord, InstanceId, InstanceRecord, Namespace, NewInstance, NewSignal,
    StoreError, Transactional,
};

/// Runs `f` atomically on `conn`: in a savepoint of the transaction it is in, or else in a
/// `BEGIN IMMEDIATE` transaction of its own; undone if it fails.
fn atomically<T>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> Result<T, Fail>,
) -> Result<T, StoreError> {
    let own = conn.is_autocommit();
    let (begin, end, undo) = if own {
        ("BEGIN IMMEDIATE", "COMMIT", "ROLLBACK")
    } else {
        (
            "SAVEPOINT sayiir_op",
            "RELEASE sayiir_op",
            "ROLLBACK TO sayiir_op; RELEASE sayiir_op",
        )
    };
    let run = || -> Result<T, Fail> {
        conn.execute_batch(begin)?;
        let value = f(conn)?;
        conn.execute_batch(end)?;
        Ok(value)
    };
    let result = run();
    if result.is_err() && !conn.is_autocommit() {
        // If this fails too, the application's next statement reports the problem.
        let _ = conn.execute_batch(undo);
    }
    result.map_err(|e| typed(conn, e))
}

fn typed(conn: &Connection, e: Fail) -> StoreError {
    e.into_store(Path::new(conn.path().unwrap_or(":memory:")))
}

impl Sealed for &Connection {}

impl Transactional for &Connection {
    const LOCKS_OUT_THE_STORE: bool = true;

    async fn load(
        &mut self,
        ns: &Namespace,
        id: &InstanceId,
    ) -> Result<InstanceRecord, StoreError> {
        read::load(self, ns.as_str(), id).map_err(|e| typed(self, e))
    }

    async fn create(&mut self, ns: &Namespace, new: NewInstance) -> Result<Created, StoreError> {
        atomically(self, |tx| {
            let mut counts = Deltas::default();
            let created = create::insert(tx, ns.as_str(), new, &mut counts)?;
            counts.apply(tx)?;
            Ok(created)
        })
    }

    async fn send_signal(&mut self, ns: &Namespace, signal: NewSignal) -> Result<u64, StoreError> {
        atomically(self, |tx| signals::send_in(tx, ns.as_str(), signal))
    }

    async fn save_definitions(
        &mut self,
        definitions: Vec<DefinitionRecord>,
    ) -> Result<(), StoreError> {
        atomically(self, |tx| versions::insert_definitions(tx, &definitions))
    }
}

impl Sealed for &Transaction<'_> {}

impl Transactional for &Transaction<'_> {
    const LOCKS_OUT_THE_STORE: bool = true;

    async fn load(
        &mut self,
        ns: &Namespace,
        id: &InstanceId,
    ) -> Result<InstanceRecord, StoreError> {
        let mut conn: &Connection = self;
        conn.load(ns, id).await
    }

    async fn create(&mut self, ns: &Namespace, new: NewInstance) -> Result<Created, StoreError> {
        let mut conn: &Connection = self;
        conn.create(ns, new).await
    }

    async fn send_signal(&mut self, ns: &Namespace, signal: NewSignal) -> Result<u64, StoreError> {
        let mut conn: &Connection = self;
        conn.send_signal(ns, signal).await
    }

    async fn save_definitions(
        &mut self,
        definitions: Vec<DefinitionRecord>,
    ) -> Result<(), StoreError> {
        let mut conn: &Connection = self;
        conn.save_definitions(definitions).await
    }
}
