//! Starting instances and sending signals in the application's own database transaction (the
//! outbox pattern): [`Engine::start_in`], [`Engine::signal_in`], [`Engine::wake_workers`].

use sayiir_store::{Created, IntoInstanceId, StoreError, Transactional};
use serde::Serialize;
use tracing::Instrument;

use crate::engine::{Engine, InstanceHandle};
use crate::error::EngineError;
use crate::machine::Workflow;
use crate::trace_context::store_span;

impl Engine {
    /// Starts an instance of `W` (which must be registered) with id `id` inside the
    /// application's transaction `conn`, so that it exists if and only if that transaction
    /// commits: write the order row and start its workflow in one transaction, and neither
    /// happens without the other.
    ///
    /// `conn` is a [`Transactional`] connection of the application's: `&mut *tx` for a
    /// `sqlx::Transaction<'_, Postgres>` on the store's PostgreSQL database, `&tx` for a
    /// `rusqlite::Transaction` on the store's SQLite file. The instance is stored exactly as
    /// [`Engine::start`] stores it, and is idempotent on `id` the same way: an existing instance
    /// (committed, or written earlier in this transaction) of `W`'s definition is returned
    /// unchanged; one of another workflow or definition is an error
    /// ([`EngineError::WrongWorkflow`], [`EngineError::WrongDefinition`]). On an error the
    /// instance was not written and the transaction can go on (or be rolled back).
    ///
    /// No worker sees the instance before the commit; after it:
    ///
    /// - PostgreSQL: the wake-up notification written in the transaction is delivered by the
    ///   commit, so idle workers of every process look for work at once.
    /// - SQLite has no notifications: a worker finds the instance when it next looks for
    ///   work, an idle one within [`WorkerConfig::idle_poll`](crate::WorkerConfig::idle_poll)
    ///   (1 s by default).
    ///   Call [`Engine::wake_workers`] after the commit to have this engine's workers look at
    ///   once. The returned future is not `Send` (a `rusqlite` connection is not `Sync`), and
    ///   the SQL runs on the calling thread, like the application's own statements on that
    ///   connection.
    ///
    /// The registered definitions are saved in the store (as the first `start` or worker of
    /// an engine does) before the instance is written: through the store on PostgreSQL, in the
    /// application's transaction on SQLite (whose store cannot write while that transaction
    /// holds the write lock), until this engine has saved them itself.
    pub async fn start_in<W: Workflow>(
        &self,
        mut conn: impl Transactional,
        id: impl IntoInstanceId,
        input: W::Input,
    ) -> Result<InstanceHandle<W>, EngineError> {
        let (id, def, input, state) = self.inner.start_parts::<W>(id, input)?;
        self.save_definitions_in(&mut conn).await?;
        let new = self
            .inner
            .new_instance(id.clone(), W::NAME, def, input, state);
        let record = match conn
            .create(self.inner.store.namespace(), new)
            .instrument(store_span!("create"))
            .await?
        {
            Created::New(r) | Created::Existing(r) => r,
        };
        self.inner.check_definition::<W>(&record)?;
        Ok(self.handle_of(id))
    }

    /// [`Engine::start_in`] with [`StartOptions`](crate::StartOptions), as
    /// [`Engine::start_with`] takes them: the instance is created with its claim priority and
    /// its concurrency key.
    ///
    /// Errors as [`Engine::start_in`] does, and with
    /// [`EngineError::BadStartOptions`](crate::EngineError::BadStartOptions) for options that
    /// cannot be honoured.
    pub async fn start_in_with<W: Workflow>(
        &self,
        mut conn: impl Transactional,
        id: impl IntoInstanceId,
        input: W::Input,
        options: crate::StartOptions,
    ) -> Result<InstanceHandle<W>, EngineError> {
        let (id, def, input, state) = self.inner.start_parts::<W>(id, input)?;
        let new = self
            .inner
            .new_instance_with((id.clone(), W::NAME, def, input, state), &options)?;
        self.save_definitions_in(&mut conn).await?;
        let record = match conn
            .create(self.inner.store.namespace(), new)
            .instrument(store_span!("create"))
            .await?
        {
            Created::New(r) | Created::Existing(r) => r,
        };
        self.inner.check_definition::<W>(&record)?;
        Ok(self.handle_of(id))
    }

    /// Sends signal `name` with `payload` to instance `id` inside the application's
    /// transaction `conn` (see [`Engine::start_in`] for the connections it takes and when
    /// workers see it): the signal is buffered if and only if that transaction commits.
    ///
    /// Checked as [`Engine::signal`] checks it, against the instance as `conn` sees it (an
    /// instance started earlier in the same transaction included): errors for an unknown or
    /// finished instance, an unknown signal name or a payload of the wrong type, and nothing
    /// is written then.
    pub async fn signal_in<T: Serialize + 'static>(
        &self,
        mut conn: impl Transactional,
        id: impl IntoInstanceId,
        name: &str,
        payload: &T,
    ) -> Result<(), EngineError> {
        let id = id.into_instance_id()?;
        let record = conn
            .load(self.inner.store.namespace(), &id)
            .instrument(store_span!("load"))
            .await?;
        if record.status.is_terminal() {
            return Err(EngineError::Finished {
                id,
                status: record.status,
            });
        }
        let signal = self.signal_for(id.clone(), record, name, payload)?;
        match conn
            .send_signal(self.inner.store.namespace(), signal)
            .instrument(store_span!("send_signal"))
            .await
        {
            Ok(_) => Ok(()),
            // Finished by a commit of another transaction since the load (PostgreSQL).
            Err(StoreError::Finished { .. }) => Err(
                match conn
                    .load(self.inner.store.namespace(), &id)
                    .instrument(store_span!("load"))
                    .await
                {
                    Ok(r) => EngineError::Finished {
                        id,
                        status: r.status,
                    },
                    Err(e) => e.into(),
                },
            ),
            Err(e) => Err(e.into()),
        }
    }

    /// Wakes an idle worker of this engine so that it looks for runnable instances at once
    /// rather than at its next poll. For instances started or signalled with
    /// [`Engine::start_in`] / [`Engine::signal_in`] on SQLite, call it after the commit (it
    /// is harmless at any time; PostgreSQL does not need it).
    pub fn wake_workers(&self) {
        self.inner.wake.notify_one();
    }

    /// Saves the registered definitions before an instance is written on `conn`, unless this
    /// engine has saved them already: through the store, or on `conn` when the store cannot
    /// write while `conn`'s transaction is open (it would wait for the caller, who waits for
    /// it).
    async fn save_definitions_in<C: Transactional>(&self, conn: &mut C) -> Result<(), EngineError> {
        if self.inner.definitions_saved() {
            return Ok(());
        }
        if !C::LOCKS_OUT_THE_STORE {
            return self.inner.save_definitions().await;
        }
        let records = self.inner.definition_records()?;
        if !records.is_empty() {
            conn.save_definitions(records)
                .instrument(store_span!("save_definitions"))
                .await?;
        }
        Ok(())
    }
}
