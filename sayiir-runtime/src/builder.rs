//! Building an engine: registering workflow versions and migrations, and checking them all at
//! once — every stored type is traced into its shape (the definitions' fingerprints), two
//! different workflows under one name and version are refused, and every state of a migrated
//! version is matched — so that a problem is a typed error at `build()`, listing all of them.

use std::any::TypeId;
use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::sync::Arc;

use sayiir_store::{DefinitionHash, DefinitionRef, Fingerprint, Store, WorkflowKey};

use crate::clock::Clock;
use crate::describe::{Describe, WorkflowShape, workflow_changes};
use crate::engine::{Engine, Inner};
use crate::machine::Workflow;
use crate::migrate::{Migration, PendingMigration};
use crate::registry::{DynWorkflow, Entry, Registry, Route, Typed};
use crate::shape::Placeholders;
use crate::worker::WorkerConfig;

/// A workflow version to register, with its type erased.
pub(crate) trait Registration: Send {
    fn type_id(&self) -> TypeId;
    fn type_name(&self) -> &'static str;
    fn name(&self) -> &'static str;
    fn version(&self) -> u32;
    fn hash(&self) -> DefinitionHash;
    fn describe(&self, d: &mut Describe<'_>) -> WorkflowShape;
    fn machine(&self) -> Arc<dyn DynWorkflow>;
}

pub(crate) struct Reg<W>(PhantomData<fn() -> W>);

impl<W: Workflow> Reg<W> {
    pub(crate) fn boxed() -> Box<dyn Registration> {
        Box::new(Reg::<W>(PhantomData))
    }
}

impl<W: Workflow> Registration for Reg<W> {
    fn type_id(&self) -> TypeId {
        TypeId::of::<W>()
    }
    fn type_name(&self) -> &'static str {
        std::any::type_name::<W>()
    }
    fn name(&self) -> &'static str {
        W::NAME
    }
    fn version(&self) -> u32 {
        W::VERSION
    }
    fn hash(&self) -> DefinitionHash {
        DefinitionHash(W::DEFINITION_HASH)
    }
    fn describe(&self, d: &mut Describe<'_>) -> WorkflowShape {
        d.workflow::<W>()
    }
    fn machine(&self) -> Arc<dyn DynWorkflow> {
        Arc::new(Typed::<W>::new())
    }
}

/// One reason an engine cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildProblem {
    /// A stored type's structure cannot be traced (so changes to it could not be detected).
    #[error("{0}")]
    Untraceable(String),
    /// Two different definitions are registered under one workflow name and version.
    #[error(
        "{} are registered as workflow `{workflow}` version {version} but differ{}: give one of them another name with `#[workflow(name = \"..\")]`, or, if they are versions of one workflow, declare different versions with `#[workflow(version = N)]`",
        types.iter().map(|t| format!("`{t}`")).collect::<Vec<_>>().join(" and "),
        if changes.is_empty() { String::new() } else { format!(" ({})", changes.join("; ")) }
    )]
    NameConflict {
        /// The workflow name.
        workflow: String,
        /// The version both declare.
        version: u32,
        /// The Rust paths of the conflicting workflow types.
        types: Vec<String>,
        /// What differs between the first two.
        changes: Vec<String>,
    },
    /// A migration does not cover every state of the version it migrates from.
    #[error(
        "the migration of `{workflow}` from version {from} to version {to} does not match every state:\n    {}",
        problems.join("\n    ")
    )]
    Migration {
        /// The workflow name.
        workflow: String,
        /// The version migrated from.
        from: u32,
        /// The version migrated to.
        to: u32,
        /// What does not match, one line each.
        problems: Vec<String>,
    },
}

/// Why [`EngineBuilder::build`] failed: every problem found, not only the first.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the engine cannot be built:\n{}",
    problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n")
)]
pub struct BuildError {
    /// The problems.
    pub problems: Vec<BuildProblem>,
}

/// Builds an [`Engine`]: see [`Engine::builder`].
pub struct EngineBuilder {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) config: WorkerConfig,
    pub(crate) clock: Arc<dyn Clock>,
    registrations: Vec<Box<dyn Registration>>,
    migrations: Vec<Box<dyn PendingMigration>>,
    placeholders: Placeholders,
}

/// The store's backend, the workflow versions registered so far (`name v2`), the migrations
/// and the worker settings.
impl std::fmt::Debug for EngineBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let registered: Vec<String> = self
            .registrations
            .iter()
            .map(|r| format!("{} v{}", r.name(), r.version()))
            .collect();
        f.debug_struct("EngineBuilder")
            .field("store", &self.store.backend())
            .field("workflows", &registered)
            .field("migrations", &self.migrations.len())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl EngineBuilder {
    pub(crate) fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            config: WorkerConfig::default(),
            clock,
            registrations: Vec::new(),
            migrations: Vec::new(),
            placeholders: Placeholders::default(),
        }
    }

    /// Serves workflow `W`: its instances run on this engine's workers. Register every
    /// version whose instances may still be running (each instance resumes only on the code of
    /// its own version); [`Engine::start`] starts the version it is given.
    #[must_use]
    pub fn register<W: Workflow>(mut self) -> Self {
        self.registrations.push(Reg::<W>::boxed());
        self
    }

    /// Declares that `New` takes over the instances of `Old` (an older version of the same
    /// workflow): each moves, when a worker next claims it, to the `New` state of the same
    /// stable identity, or as the migration's functions say. Registers `New`. Every `Old`
    /// state is checked at [`build`](Self::build).
    #[must_use]
    pub fn migrate<Old: Workflow, New: Workflow>(mut self, migration: Migration<Old, New>) -> Self {
        self.registrations.push(Reg::<New>::boxed());
        self.migrations.push(Box::new(migration));
        self
    }

    /// A string the structure tracer offers to types whose `Deserialize` rejects the built-in
    /// placeholder values (a string in a format of your own, like `"SKU-0001"`). See
    /// `docs/versioning.md`.
    #[must_use]
    pub fn trace_placeholder(mut self, value: &str) -> Self {
        self.placeholders.add(value);
        self
    }

    /// Worker settings.
    #[must_use]
    pub fn worker_config(mut self, config: WorkerConfig) -> Self {
        self.config = config;
        self
    }

    /// Replaces the wall clock (the test engine uses a virtual one).
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Checks every registered definition and migration, and builds the engine. Fails with
    /// every problem found: a stored type whose structure cannot be traced, two different
    /// workflows registered under one name and version, a migration that leaves a state of
    /// the older version unmatched.
    pub fn build(self) -> Result<Engine, BuildError> {
        let (registry, problems) = resolve(self.registrations, self.migrations, &self.placeholders);
        if !problems.is_empty() {
            return Err(BuildError { problems });
        }
        Ok(Engine {
            inner: Arc::new(Inner::new(self.store, registry, self.config, self.clock)),
        })
    }
}

fn definition_ref(shape: &WorkflowShape, hash: DefinitionHash) -> DefinitionRef {
    DefinitionRef {
        version: shape.version,
        hash,
        fingerprint: Fingerprint(shape.fingerprint()),
    }
}

/// Describes every registration and migration and builds the registry, or says what is wrong.
fn resolve(
    registrations: Vec<Box<dyn Registration>>,
    migrations: Vec<Box<dyn PendingMigration>>,
    placeholders: &Placeholders,
) -> (Registry, Vec<BuildProblem>) {
    let mut d = Describe::new(placeholders);
    let mut registry = Registry::default();
    let mut problems = Vec::new();
    let mut seen: Vec<TypeId> = Vec::new();
    let mut by_version: BTreeMap<(&'static str, u32), Vec<Entry>> = BTreeMap::new();
    for r in registrations {
        if seen.contains(&r.type_id()) {
            continue;
        }
        seen.push(r.type_id());
        let shape = r.describe(&mut d);
        let entry = Entry {
            wf: r.machine(),
            def: definition_ref(&shape, r.hash()),
            shape: Arc::new(shape),
            type_name: r.type_name(),
        };
        by_version
            .entry((r.name(), r.version()))
            .or_default()
            .push(entry);
    }
    for ((name, version), entries) in by_version {
        let Some(first) = entries.first() else {
            continue;
        };
        let differing: Vec<&Entry> = entries.iter().filter(|e| e.def != first.def).collect();
        if let Some(other) = differing.first() {
            problems.push(BuildProblem::NameConflict {
                workflow: name.to_string(),
                version,
                types: std::iter::once(first.type_name)
                    .chain(differing.iter().map(|e| e.type_name))
                    .map(str::to_string)
                    .collect(),
                changes: workflow_changes(&first.shape, &other.shape),
            });
            continue;
        }
        registry.insert(name, first.clone());
    }
    for m in migrations {
        let (name, from) = m.source();
        let (_, to) = m.target();
        let old = m.describe_source(&mut d);
        let from_def = definition_ref(&old, m.source_hash());
        let Some(target) = registry
            .versions_of(name)
            .into_iter()
            .find(|e| e.def.version == to)
            .cloned()
        else {
            // The target failed to register (a conflict reported above).
            continue;
        };
        let old = Arc::new(old);
        match m.check((*old).clone(), (*target.shape).clone()) {
            Ok(migration) => registry.insert_route(
                name,
                Route {
                    migration,
                    from: old,
                    from_def,
                    to: WorkflowKey {
                        workflow: name.to_string(),
                        hash: target.def.hash,
                        fingerprint: target.def.fingerprint,
                    },
                },
            ),
            Err(lines) => problems.push(BuildProblem::Migration {
                workflow: name.to_string(),
                from,
                to,
                problems: lines,
            }),
        }
    }
    let untraceable = d.into_errors();
    problems.splice(0..0, untraceable.into_iter().map(BuildProblem::Untraceable));
    (registry, problems)
}
