//! The definitions an engine knows: the registered workflow versions it runs, and the older
//! versions whose instances it migrates to them.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use sayiir_store::{DefinitionHash, DefinitionRef, Fingerprint, InstanceSummary, WorkflowKey};

use super::DynWorkflow;
use crate::describe::WorkflowShape;
use crate::migrate::DynMigration;

type Key = (String, DefinitionHash, Fingerprint);

fn key_of(k: &WorkflowKey) -> Key {
    (k.workflow.clone(), k.hash, k.fingerprint)
}

/// A registered workflow version.
#[derive(Clone)]
pub(crate) struct Entry {
    pub(crate) wf: Arc<dyn DynWorkflow>,
    pub(crate) shape: Arc<WorkflowShape>,
    pub(crate) def: DefinitionRef,
    /// The Rust path of the workflow's type, for messages.
    pub(crate) type_name: &'static str,
    /// Whether this engine's workers run it (`false`: registered with
    /// [`EngineBuilder::start_only`](crate::EngineBuilder::start_only), another process runs it).
    pub(crate) runs: bool,
}

/// An older version whose instances move to `to` when a worker claims them.
#[derive(Clone)]
pub(crate) struct Route {
    pub(crate) migration: Arc<dyn DynMigration>,
    pub(crate) from: Arc<WorkflowShape>,
    pub(crate) from_def: DefinitionRef,
    pub(crate) to: WorkflowKey,
}

/// The workflow versions of one engine.
#[derive(Default, Clone)]
pub(crate) struct Registry {
    entries: BTreeMap<Key, Entry>,
    routes: BTreeMap<Key, Route>,
}

impl Registry {
    /// Whether a registered workflow has a concurrency limit of its type.
    pub(crate) fn any_gated(&self) -> bool {
        self.entries.values().any(|e| e.wf.concurrency().is_some())
    }

    pub(crate) fn insert(&mut self, workflow: &str, entry: Entry) {
        let key = (workflow.to_string(), entry.def.hash, entry.def.fingerprint);
        self.entries.insert(key, entry);
    }

    pub(crate) fn insert_route(&mut self, workflow: &str, route: Route) {
        let key = (
            workflow.to_string(),
            route.from_def.hash,
            route.from_def.fingerprint,
        );
        self.routes.insert(key, route);
    }

    /// The registered version an instance of `key` runs on (not a migration source).
    pub(crate) fn get(&self, key: &WorkflowKey) -> Option<&Entry> {
        if self.routes.contains_key(&key_of(key)) {
            return None;
        }
        self.entries.get(&key_of(key))
    }

    /// Where an instance of `key` is migrated to, if it is a migration source.
    pub(crate) fn route(&self, key: &WorkflowKey) -> Option<&Route> {
        self.routes.get(&key_of(key))
    }

    /// The version an instance of `key` runs on now or after its migration.
    pub(crate) fn runs_on(&self, key: &WorkflowKey) -> Option<&Entry> {
        let mut key = key.clone();
        // Routes are checked to lead to registered versions; the bound guards against a cycle.
        for _ in 0..=self.routes.len() {
            match self.routes.get(&key_of(&key)) {
                Some(r) => key = r.to.clone(),
                None => return self.entries.get(&key_of(&key)),
            }
        }
        None
    }

    /// Every definition this engine's workers claim instances of (not those registered to
    /// start only).
    pub(crate) fn known(&self) -> Vec<WorkflowKey> {
        self.entries
            .iter()
            .filter(|(_, e)| e.runs)
            .map(|(k, _)| k)
            .chain(self.routes.keys())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .map(|(workflow, hash, fingerprint)| WorkflowKey {
                workflow: workflow.clone(),
                hash: *hash,
                fingerprint: *fingerprint,
            })
            .collect()
    }

    /// The workflow names this engine's workers serve (whose instances of unknown definitions
    /// they report).
    pub(crate) fn served(&self) -> Vec<String> {
        self.entries
            .iter()
            .filter(|(_, e)| e.runs)
            .map(|((n, ..), _)| n.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    }

    /// The registered versions of `name`, oldest first.
    pub(crate) fn versions_of(&self, name: &str) -> Vec<&Entry> {
        let mut v: Vec<&Entry> = self
            .entries
            .iter()
            .filter(|((n, ..), _)| n == name)
            .map(|(_, e)| e)
            .collect();
        v.sort_by_key(|e| e.def.version);
        v
    }

    /// The newest registered version of `name`.
    pub(crate) fn latest(&self, name: &str) -> Option<&Entry> {
        self.versions_of(name).into_iter().next_back()
    }

    /// Every registered version and migration source, for the lock file and the store.
    pub(crate) fn shapes(&self) -> Vec<(Arc<WorkflowShape>, DefinitionRef)> {
        self.entries
            .values()
            .map(|e| (e.shape.clone(), e.def))
            .chain(self.routes.values().map(|r| (r.from.clone(), r.from_def)))
            .collect()
    }

    /// The registered versions (`name v2`) and migration sources (`name v1 (migrated)`), for
    /// `Debug` output.
    pub(crate) fn summary(&self) -> Vec<String> {
        let registered = self
            .entries
            .iter()
            .map(|((n, ..), e)| format!("{n} v{}", e.def.version));
        let migrated = self
            .routes
            .iter()
            .map(|((n, ..), r)| format!("{n} v{} (migrated)", r.from_def.version));
        registered.chain(migrated).collect()
    }

    /// Whether an instance summarised by `s` is one this engine knows how to run (directly or
    /// after a migration).
    pub(crate) fn knows(&self, s: &InstanceSummary) -> bool {
        self.runs_on(&s.key()).is_some()
    }
}
