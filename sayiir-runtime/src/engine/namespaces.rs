//! Namespaces: the namespace an engine is bound to, and handles bound to others.

use std::num::NonZeroU32;
use std::sync::Arc;

use sayiir_store::Namespace;

use super::Engine;
use crate::error::EngineError;

impl Engine {
    /// The namespace this engine is bound to (see [`EngineBuilder::namespace`]): every
    /// operation of it (starts, reads, listings, signals, operators' actions, schedules) and
    /// every worker it spawns sees and touches the instances and schedules of this namespace
    /// only. `default` unless the builder or the store handle said otherwise.
    ///
    /// [`EngineBuilder::namespace`]: crate::EngineBuilder::namespace
    pub fn namespace(&self) -> &str {
        self.inner.store.namespace().as_str()
    }

    /// The quota of unfinished instances this engine's starts ask for its namespace
    /// ([`EngineBuilder::namespace_quota`]), if any.
    ///
    /// [`EngineBuilder::namespace_quota`]: crate::EngineBuilder::namespace_quota
    pub fn namespace_quota(&self) -> Option<u32> {
        self.inner.namespace_quota.map(NonZeroU32::get)
    }

    /// An engine bound to namespace `name`, sharing this one's store (its pool or connections,
    /// and for SQLite its worker lock), registered workflows, resources, worker settings,
    /// clock and namespace quota. Cheap (no I/O; the registered workflows are shared, not
    /// checked again), so that a server can make one per request. Its wake-ups, start
    /// batches and metrics are its own, and workers spawned from it claim the instances of
    /// `name` only; an instance of another namespace is [`EngineError::NotFound`] to it, and
    /// starting an id taken in another namespace fails with the store's
    /// [`StoreError::IdTaken`](sayiir_store::StoreError::IdTaken) (ids are unique per store).
    ///
    /// Fails with [`EngineError::InvalidNamespace`] for a name that is not a valid namespace,
    /// and with [`EngineError::Store`] for a store that cannot be bound to one (a store
    /// wrapper that does not forward [`Store::in_namespace`](sayiir_store::Store::in_namespace)).
    ///
    /// ```
    /// use sayiir::{Engine, MemoryStore};
    ///
    /// #[sayiir::workflow]
    /// async fn hello(name: String) -> Result<String, String> {
    ///     Ok(format!("hello, {name}"))
    /// }
    ///
    /// #[tokio::main]
    /// async fn main() -> Result<(), Box<dyn std::error::Error>> {
    ///     let engine = Engine::builder(MemoryStore::new()).register::<hello>().build()?;
    ///     let acme = engine.in_namespace("acme")?;
    ///     assert_eq!(acme.namespace(), "acme");
    ///
    ///     acme.start::<hello>("h-1", "ada".into()).await?;
    ///     // The default namespace does not see it.
    ///     assert!(engine.describe("h-1").await.is_err());
    ///     let worker = acme.spawn_worker();
    ///     assert_eq!(acme.result::<hello>("h-1").await?, Ok("hello, ada".to_string()));
    ///     worker.shutdown().await?;
    ///
    ///     assert!(engine.in_namespace("Not Valid").is_err());
    ///     Ok(())
    /// }
    /// ```
    pub fn in_namespace(&self, name: &str) -> Result<Engine, EngineError> {
        let ns = Namespace::new(name)?;
        self.rebound(&ns, self.inner.namespace_quota)
    }

    /// This engine (same namespace) with another namespace quota (`None`: none), for a server
    /// whose namespaces have quotas of their own: `engine.in_namespace("a")?
    /// .with_namespace_quota(Some(10))`. Cheap, as [`Engine::in_namespace`].
    pub fn with_namespace_quota(&self, quota: Option<NonZeroU32>) -> Result<Engine, EngineError> {
        let ns = self.inner.store.namespace().clone();
        self.rebound(&ns, quota)
    }

    fn rebound(&self, ns: &Namespace, quota: Option<NonZeroU32>) -> Result<Engine, EngineError> {
        let store = if self.inner.store.namespace() == ns {
            Arc::clone(&self.inner.store)
        } else {
            self.inner
                .store
                .in_namespace(ns)
                .map_err(EngineError::Store)?
        };
        Ok(Engine {
            inner: Arc::new(self.inner.rebind(store, quota)),
        })
    }
}
