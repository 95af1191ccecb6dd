//! [`Transactional`] on the application's PostgreSQL connection: the store's operations, on
//! that connection, in a savepoint of its transaction.

use sqlx::{PgConnection, Postgres, Transaction};

use super::fail::{Fail, Target};
use super::ops::{read, signals, versions, write};
use crate::transactional::sealed::Sealed;
use crate::{
    Created, DefinitionRecord, InstanceId, InstanceRecord, Namespace, NewInstance, NewSignal,
    StoreError, Transactional,
};

/// Errors name the application's connection, whose settings the store does not know.
fn typed<T>(result: Result<T, Fail>) -> Result<T, StoreError> {
    result.map_err(|e| e.into_store(&Target::caller()))
}

impl Sealed for &mut PgConnection {}

impl Transactional for &mut PgConnection {
    const LOCKS_OUT_THE_STORE: bool = false;

    async fn load(
        &mut self,
        ns: &Namespace,
        id: &InstanceId,
    ) -> Result<InstanceRecord, StoreError> {
        typed(read::load_in(self, ns.as_str(), id).await)
    }

    async fn create(&mut self, ns: &Namespace, new: NewInstance) -> Result<Created, StoreError> {
        typed(write::create_on(self, ns.as_str(), new).await)
    }

    async fn send_signal(&mut self, ns: &Namespace, signal: NewSignal) -> Result<u64, StoreError> {
        typed(signals::send_on(self, ns.as_str(), signal).await)
    }

    async fn save_definitions(
        &mut self,
        definitions: Vec<DefinitionRecord>,
    ) -> Result<(), StoreError> {
        // One statement: atomic on its own.
        typed(versions::save_definitions(&mut **self, definitions).await)
    }
}

impl Sealed for &mut Transaction<'_, Postgres> {}

/// The same as `&mut *tx`.
impl Transactional for &mut Transaction<'_, Postgres> {
    const LOCKS_OUT_THE_STORE: bool = false;

    async fn load(
        &mut self,
        ns: &Namespace,
        id: &InstanceId,
    ) -> Result<InstanceRecord, StoreError> {
        let mut conn: &mut PgConnection = self;
        conn.load(ns, id).await
    }

    async fn create(&mut self, ns: &Namespace, new: NewInstance) -> Result<Created, StoreError> {
        let mut conn: &mut PgConnection = self;
        conn.create(ns, new).await
    }

    async fn send_signal(&mut self, ns: &Namespace, signal: NewSignal) -> Result<u64, StoreError> {
        let mut conn: &mut PgConnection = self;
        conn.send_signal(ns, signal).await
    }

    async fn save_definitions(
        &mut self,
        definitions: Vec<DefinitionRecord>,
    ) -> Result<(), StoreError> {
        let mut conn: &mut PgConnection = self;
        conn.save_definitions(definitions).await
    }
}
