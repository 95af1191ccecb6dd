//! Building an engine: registering workflow versions, migrations and resources, and checking
//! them all at once — every stored type is traced into its shape (the definitions'
//! fingerprints), two different workflows under one name and version are refused, every state
//! of a migrated version is matched, and every resource a task of a registered workflow takes
//! is there — so that a problem is a typed error at `build()`, listing all of them.

use std::any::TypeId;
use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::sync::Arc;

use sayiir_store::{DefinitionHash, DefinitionRef, Fingerprint, Namespace, Store, WorkflowKey};

use crate::clock::Clock;
use crate::core::{Inner, WorkerConfig};
use crate::describe::{Describe, WorkflowShape, workflow_changes};
use crate::engine::Engine;
use crate::machine::Workflow;
use crate::migrate::{Migration, PendingMigration};
use crate::registry::{DynWorkflow, Entry, Registry, Route, Typed};
use crate::resources::Resources;
use crate::shape::Placeholders;

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
    /// A task of a registered workflow (or of a child workflow it calls) takes a resource the
    /// engine was not given.
    #[error(
        "task `{task}` of workflow `{workflow}` version {version}{} takes `{param}`, but the engine has no resource of type `{resource}`: add it with `.resource(value)` on the engine builder",
        if via.is_empty() { String::new() } else {
            format!(" (through child workflow {})", via.iter().map(|v| format!("`{v}`")).collect::<Vec<_>>().join(" → "))
        }
    )]
    MissingResource {
        /// The registered workflow.
        workflow: String,
        /// Its version.
        version: u32,
        /// The child workflows the task is reached through, outermost first.
        via: Vec<String>,
        /// The task.
        task: String,
        /// The parameter as written (`pool: Res<PgPool>`).
        param: String,
        /// `std::any::type_name` of the missing resource.
        resource: String,
    },
    /// The name given to [`EngineBuilder::namespace`] is not a valid namespace.
    #[error("invalid namespace: {0}")]
    InvalidNamespace(sayiir_store::InvalidNamespace),
    /// The store gives no handle bound to the namespace (a store wrapper that does not
    /// forward [`Store::in_namespace`]).
    #[error("the {backend} store cannot be bound to namespace `{namespace}`: {detail}")]
    NamespaceUnsupported {
        /// The store's backend.
        backend: String,
        /// The namespace asked.
        namespace: String,
        /// What the store said.
        detail: String,
    },
    /// [`EngineBuilder::namespace_quota`] was given 0.
    #[error("the namespace quota must be at least 1")]
    ZeroQuota,
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
    /// The types registered with [`EngineBuilder::register`] or as a migration's target (the
    /// others were registered to start only).
    runs: Vec<TypeId>,
    migrations: Vec<Box<dyn PendingMigration>>,
    placeholders: Placeholders,
    resources: Resources,
    /// The namespace asked with [`EngineBuilder::namespace`] (`None`: the store's).
    namespace: Option<Result<Namespace, sayiir_store::InvalidNamespace>>,
    /// [`EngineBuilder::namespace_quota`].
    quota: Option<u32>,
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
            runs: Vec::new(),
            migrations: Vec::new(),
            placeholders: Placeholders::default(),
            resources: Resources::new(),
            namespace: None,
            quota: None,
        }
    }

    /// Binds the engine to namespace `name` (see `docs/namespaces.md`): it starts, reads,
    /// signals and acts on the instances and schedules of that namespace only, and its
    /// workers claim only them. Default: the namespace of the store handle given to
    /// [`Engine::builder`], `default` for a store as opened. An invalid name (1 to 63
    /// characters of `a-z`, `0-9`, `_` and `-`, starting with a letter or a digit) is a
    /// [`BuildProblem::InvalidNamespace`] at [`EngineBuilder::build`].
    ///
    /// ```
    /// use sayiir::{Engine, MemoryStore};
    ///
    /// let engine = Engine::builder(MemoryStore::new()).namespace("billing").build()?;
    /// assert_eq!(engine.namespace(), "billing");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn namespace(mut self, name: impl AsRef<str>) -> Self {
        self.namespace = Some(Namespace::new(name));
        self
    }

    /// Admits at most `quota` unfinished instances of this engine's namespace at a time: an
    /// instance started over the quota is created blocked, waiting for admission
    /// ([`BlockKind::AwaitingAdmission`](sayiir_store::BlockKind::AwaitingAdmission)), and is
    /// admitted, in start order, when an admitted one finishes. Not refused. It is the
    /// admission gate `namespace:<name>` (see `docs/flow-control.md`), taken by every start of
    /// this engine (starts, batches, starts in the application's transaction, schedules'
    /// runs); the limit of a gate is the last one asked, so every engine of one namespace
    /// should ask the same. Instances started without a quota do not count. 0 is a
    /// [`BuildProblem::ZeroQuota`].
    pub fn namespace_quota(mut self, quota: u32) -> Self {
        self.quota = Some(quota);
        self
    }

    /// Serves workflow `W`: its instances run on this engine's workers. Register every
    /// version whose instances may still be running (each instance resumes only on the code of
    /// its own version); [`Engine::start`] starts the version it is given.
    #[must_use]
    pub fn register<W: Workflow>(mut self) -> Self {
        self.registrations.push(Reg::<W>::boxed());
        self.runs.push(TypeId::of::<W>());
        self
    }

    /// Lets this engine start workflow `W`, send its instances signals and read their status
    /// and results, while **other processes run them**: its workers never claim instances of
    /// `W` (a client-only service that hands work to a pool of workers). [`Engine::start`]
    /// refuses a workflow registered neither way ([`EngineError::NotRegistered`]), so that
    /// starting work nobody here runs is always an explicit choice. Whether a live worker
    /// anywhere runs an instance's definition shows in [`InstanceInfo::no_live_worker`].
    /// Registering `W` with [`register`](Self::register) too makes it run here as well.
    ///
    /// [`Engine::start`]: crate::Engine::start
    /// [`EngineError::NotRegistered`]: crate::EngineError::NotRegistered
    /// [`InstanceInfo::no_live_worker`]: crate::InstanceInfo::no_live_worker
    pub fn start_only<W: Workflow>(mut self) -> Self {
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
        self.runs.push(TypeId::of::<New>());
        self.migrations.push(Box::new(migration));
        self
    }

    /// Gives the engine a resource: tasks with a parameter `Res<T>` receive it (one value per
    /// type, shared by every task run; a second value of the same type replaces the first).
    /// Not stored and not part of any definition; [`build`](Self::build) refuses a workflow
    /// whose tasks take a resource the engine was not given. See `docs/resources.md`.
    pub fn resource<T: Send + Sync + 'static>(mut self, value: T) -> Self {
        self.resources.insert_arc(Arc::new(value));
        self
    }

    /// Gives the engine an already shared resource, which may be unsized:
    /// `.resource_arc::<dyn Mailer>(Arc::new(SmtpMailer::new()))` serves parameters
    /// `Res<dyn Mailer>`. As [`resource`](Self::resource) otherwise.
    pub fn resource_arc<T: ?Sized + Send + Sync + 'static>(mut self, value: Arc<T>) -> Self {
        self.resources.insert_arc(value);
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
    /// the older version unmatched, a task (of a registered workflow or of a child workflow
    /// it calls) that takes a resource the engine was not given.
    pub fn build(self) -> Result<Engine, BuildError> {
        let (registry, problems) = resolve(
            self.registrations,
            &self.runs,
            self.migrations,
            &self.placeholders,
            &self.resources,
        );
        let mut problems = problems;
        let store = match self.namespace {
            None => Some(self.store),
            Some(Err(e)) => {
                problems.push(BuildProblem::InvalidNamespace(e));
                None
            }
            Some(Ok(ns)) if *self.store.namespace() == ns => Some(self.store),
            Some(Ok(ns)) => match self.store.in_namespace(&ns) {
                Ok(store) => Some(store),
                Err(e) => {
                    problems.push(BuildProblem::NamespaceUnsupported {
                        backend: self.store.backend().to_owned(),
                        namespace: ns.as_str().to_owned(),
                        detail: e.to_string(),
                    });
                    None
                }
            },
        };
        let quota = match self.quota {
            Some(0) => {
                problems.push(BuildProblem::ZeroQuota);
                None
            }
            q => q.and_then(std::num::NonZeroU32::new),
        };
        let Some(store) = store.filter(|_| problems.is_empty()) else {
            return Err(BuildError { problems });
        };
        let inner = Inner::new(
            store,
            registry,
            self.config,
            self.clock,
            Arc::new(self.resources),
        )
        .with_namespace_quota(quota);
        Ok(Engine {
            inner: Arc::new(inner),
        })
    }
}

/// The resources the tasks of a registered workflow take and `resources` lacks. Checked for
/// the versions this engine runs only: an instance of a migration source moves to its target
/// before any of its tasks runs, and a version registered with `start_only` runs elsewhere.
fn missing_resources(
    shape: &WorkflowShape,
    resources: &Resources,
) -> impl Iterator<Item = BuildProblem> {
    shape
        .resource_uses()
        .into_iter()
        .filter(|u| !resources.contains(u.need.type_id))
        .map(|u| BuildProblem::MissingResource {
            workflow: shape.name.clone(),
            version: shape.version,
            via: u.via,
            task: u.task,
            param: u.need.param.to_string(),
            resource: u.need.type_name.to_string(),
        })
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
    runs: &[TypeId],
    migrations: Vec<Box<dyn PendingMigration>>,
    placeholders: &Placeholders,
    resources: &Resources,
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
            runs: runs.contains(&r.type_id()),
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
        // A version registered to start only runs no task here: it needs no resource.
        if first.runs {
            problems.extend(missing_resources(&first.shape, resources));
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
