//! Completing instances in place under a newer version: a [`Migration`] from `Old` to `New`
//! (two declared versions of one workflow) moves an instance parked in an `Old` state into the
//! `New` state of the same stable identity, carrying every field whose shape is unchanged. A
//! state that does not match that way takes a migration function, which reads the old fields
//! and sets the new ones, each checked against the stored shapes.
//!
//! Every `Old` state is matched when the engine is built; an unmatched one fails the build with
//! the list. The move itself happens when a worker claims the instance: one commit (compare and
//! swap on the sequence number, like any transition) writes the new state and the new
//! definition, and its history entry records the move.

use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use sayiir_store::DefinitionHash;

use crate::codec::{self, CodecError};
use crate::describe::{Describe, StateShape, WorkflowShape};
use crate::machine::{MachineError, Workflow};
use crate::parts::{StateParts, read_one};
use crate::shape::{self, Shape};
use crate::shared::WorkflowContext;

/// Why a migration function could not build the new state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MigrateError {
    /// The old state has no field of that name.
    #[error("the old state `{state}` has no field `{field}`")]
    NoField {
        /// Old state id.
        state: String,
        /// Field name.
        field: String,
    },
    /// A field read or written as a type of another shape than the stored one.
    #[error("field `{field}` is stored as `{stored}`, not `{requested}` ({requested_shape})")]
    WrongType {
        /// Field name.
        field: String,
        /// The stored shape.
        stored: String,
        /// The type used.
        requested: &'static str,
        /// Its shape.
        requested_shape: String,
    },
    /// The new version has no state of that identity.
    #[error("the new version has no state `{state}`")]
    NoState {
        /// The state id.
        state: String,
    },
    /// A value did not encode or decode.
    #[error(transparent)]
    Codec(#[from] CodecError),
    /// The migration function's own error.
    #[error("{0}")]
    Custom(String),
}

impl MigrateError {
    /// An error of the migration function's own.
    pub fn custom(message: impl std::fmt::Display) -> Self {
        MigrateError::Custom(message.to_string())
    }
}

type StateFn = Arc<dyn Fn(&mut Migrate<'_>) -> Result<(), MigrateError> + Send + Sync>;

/// A declaration that workflow `New` takes over the instances of `Old`, an older declared
/// version of the same workflow. Give it to [`EngineBuilder::migrate`](crate::EngineBuilder::migrate).
///
/// ```
/// use sayiir::{Engine, MemoryStore, Migration};
///
/// #[sayiir::task]
/// async fn ship(order: u64) -> String {
///     format!("order {order} shipped")
/// }
///
/// mod v1 {
///     use super::ship;
///
///     #[sayiir::workflow(name = "checkout")]
///     pub async fn checkout(order: u64) -> String {
///         ship(order).await
///     }
/// }
///
/// #[sayiir::workflow(version = 2)]
/// async fn checkout(order: u64) -> String {
///     let coupon: Option<String> = None;
///     let label = ship(order).await;
///     format!("{label} {coupon:?}")
/// }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let m = Migration::<v1::checkout, checkout>::new()
///     // `ship#1` gained a `coupon` field: old instances get none.
///     .state("ship#1", |m| m.set("coupon", &None::<String>));
/// let engine = Engine::builder(MemoryStore::new()).migrate(m).build()?;
/// # Ok(())
/// # }
/// ```
pub struct Migration<Old: Workflow, New: Workflow> {
    states: BTreeMap<String, StateFn>,
    _w: PhantomData<fn() -> (Old, New)>,
}

impl<Old: Workflow, New: Workflow> std::fmt::Debug for Migration<Old, New> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Migration")
            .field("from", &(Old::NAME, Old::VERSION))
            .field("to", &(New::NAME, New::VERSION))
            .field("functions", &self.states.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl<Old: Workflow, New: Workflow> Default for Migration<Old, New> {
    fn default() -> Self {
        Self::new()
    }
}

impl<Old: Workflow, New: Workflow> Migration<Old, New> {
    /// Every `Old` state moves to the `New` state of the same stable identity.
    pub fn new() -> Self {
        Self {
            states: BTreeMap::new(),
            _w: PhantomData,
        }
    }

    /// Instances parked in `Old`'s state `id` are moved by `f`: it may read old fields
    /// ([`Migrate::get`]), choose the new state ([`Migrate::go_to`], by default the one with
    /// the same id) and set new fields ([`Migrate::set`]); fields it does not set are carried
    /// from old fields of the same name and shape.
    pub fn state(
        mut self,
        id: &str,
        f: impl Fn(&mut Migrate<'_>) -> Result<(), MigrateError> + Send + Sync + 'static,
    ) -> Self {
        self.states.insert(id.to_string(), Arc::new(f));
        self
    }
}

/// A migration function's view of one instance: the old state's fields, the new state's
/// fields being set.
pub struct Migrate<'a> {
    old: &'a StateParts,
    old_shape: &'a StateShape,
    new: &'a WorkflowShape,
    target: String,
    set: StateParts,
}

impl std::fmt::Debug for Migrate<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Migrate")
            .field("from", &self.old.id())
            .field("to", &self.target)
            .finish_non_exhaustive()
    }
}

fn checked<T: DeserializeOwned>(field: &str, stored: &Shape) -> Result<(), MigrateError> {
    let requested = shape::trace::<T>(&shape::Placeholders::default())
        .map_err(|why| MigrateError::custom(format!("field `{field}`: {why}")))?;
    if requested.fingerprint() == stored.fingerprint() {
        return Ok(());
    }
    Err(MigrateError::WrongType {
        field: field.to_string(),
        stored: stored.to_string(),
        requested: std::any::type_name::<T>(),
        requested_shape: requested.to_string(),
    })
}

impl Migrate<'_> {
    /// The stable identity of the old state.
    pub fn from_state(&self) -> &str {
        self.old.id()
    }

    /// Reads old field `field` as `T`, whose shape must be the stored one.
    pub fn get<T: DeserializeOwned>(&self, field: &str) -> Result<T, MigrateError> {
        let Some(f) = self.old_shape.fields.iter().find(|f| f.name == field) else {
            return Err(MigrateError::NoField {
                state: self.old.id().to_string(),
                field: field.to_string(),
            });
        };
        checked::<T>(field, &f.ty.shape)?;
        let bytes = self
            .old
            .field_bytes(field)
            .ok_or_else(|| MigrateError::NoField {
                state: self.old.id().to_string(),
                field: field.to_string(),
            })?;
        Ok(read_one(bytes)?)
    }

    /// Moves the instance to the new state `id` (by default the one with the old state's id).
    pub fn go_to(&mut self, id: &str) -> Result<(), MigrateError> {
        if self.new.state_by_id(id).is_none() {
            return Err(MigrateError::NoState {
                state: id.to_string(),
            });
        }
        id.clone_into(&mut self.target);
        Ok(())
    }

    /// Sets field `field` of the new state to `value`, whose type's shape must be the field's.
    pub fn set<T: Serialize + DeserializeOwned>(
        &mut self,
        field: &str,
        value: &T,
    ) -> Result<(), MigrateError> {
        let Some(target) = self.new.state_by_id(&self.target) else {
            return Err(MigrateError::NoState {
                state: self.target.clone(),
            });
        };
        let Some(f) = target.fields.iter().find(|f| f.name == field) else {
            return Err(MigrateError::NoField {
                state: self.target.clone(),
                field: field.to_string(),
            });
        };
        checked::<T>(field, &f.ty.shape)?;
        self.set.put(field, value)?;
        Ok(())
    }
}

/// The result of moving one instance's state.
pub(crate) struct Moved {
    /// The new stored blob (context and state).
    pub(crate) blob: Vec<u8>,
    /// The old and new state ids.
    pub(crate) from: String,
    pub(crate) to: String,
}

/// A migration seen through encoded states, once checked.
pub(crate) trait DynMigration: Send + Sync {
    /// Moves a stored blob of `Old` to `New`.
    fn apply(&self, blob: &[u8]) -> Result<Moved, MachineError>;
}

/// A declared migration before it is checked (type-erased for the engine builder).
pub(crate) trait PendingMigration: Send + Sync {
    fn source(&self) -> (&'static str, u32);
    fn target(&self) -> (&'static str, u32);
    fn source_hash(&self) -> DefinitionHash;
    /// Describes the version migrated from.
    fn describe_source(&self, d: &mut Describe<'_>) -> WorkflowShape;
    /// Checks every old state against the shapes and returns the migration, or the problems.
    fn check(
        self: Box<Self>,
        old: WorkflowShape,
        new: WorkflowShape,
    ) -> Result<Arc<dyn DynMigration>, Vec<String>>;
}

impl<Old: Workflow, New: Workflow> PendingMigration for Migration<Old, New> {
    fn source(&self) -> (&'static str, u32) {
        (Old::NAME, Old::VERSION)
    }

    fn target(&self) -> (&'static str, u32) {
        (New::NAME, New::VERSION)
    }

    fn source_hash(&self) -> DefinitionHash {
        DefinitionHash(Old::DEFINITION_HASH)
    }

    fn describe_source(&self, d: &mut Describe<'_>) -> WorkflowShape {
        d.workflow::<Old>()
    }

    fn check(
        self: Box<Self>,
        old: WorkflowShape,
        new: WorkflowShape,
    ) -> Result<Arc<dyn DynMigration>, Vec<String>> {
        let mut problems = Vec::new();
        if Old::NAME != New::NAME || New::VERSION <= Old::VERSION {
            problems.push(format!(
                "a migration goes from a version of a workflow to a later version of the same workflow, not from `{}` version {} to `{}` version {}",
                Old::NAME,
                Old::VERSION,
                New::NAME,
                New::VERSION
            ));
        }
        for id in self.states.keys() {
            if old.state_by_id(id).is_none() {
                problems.push(format!(
                    "a migration function is given for state `{id}`, which version {} does not have (its states: {})",
                    Old::VERSION,
                    old.states.iter().map(|s| s.id.as_str()).collect::<Vec<_>>().join(", ")
                ));
            }
        }
        for s in &old.states {
            if self.states.contains_key(&s.id) {
                continue;
            }
            if let Err(why) = auto_match(s, &new) {
                problems.push(format!("state `{}`: {why}", s.id));
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Arc::new(Checked::<Old, New> {
            states: self.states,
            old,
            new,
            _w: PhantomData,
        }))
    }
}

/// Whether old state `s` moves to the new state of the same id as it is: the new state keeps
/// only fields the old one has (same name and shape) and waits for the same thing.
pub(crate) fn auto_match(s: &StateShape, new: &WorkflowShape) -> Result<(), String> {
    let Some(t) = new.state_by_id(&s.id) else {
        return Err(format!(
            "version {} has no state `{}`; give a migration function for it (`Migration::state`)",
            new.version, s.id
        ));
    };
    let mut why = Vec::new();
    for f in &t.fields {
        match s.fields.iter().find(|o| o.name == f.name) {
            None => why.push(format!(
                "new field `{}: {}` has no old value",
                f.name, f.ty.shape
            )),
            Some(o) if o.ty.shape.fingerprint() != f.ty.shape.fingerprint() => why.extend(
                shape::diff(&o.ty.shape, &f.ty.shape)
                    .into_iter()
                    .map(|l| format!("field `{}`: {l}", f.name)),
            ),
            Some(_) => {}
        }
    }
    let same_wait = match (&s.wait, &t.wait) {
        (Some(a), Some(b)) => a.fingerprint() == b.fingerprint(),
        (None, None) => true,
        _ => false,
    };
    if !same_wait {
        why.push(
            "it waits for something else (another task, other argument or output types): such an instance cannot continue in place; restart it instead".into(),
        );
    }
    if why.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{}; give a migration function for it (`Migration::state`)",
            why.join("; ")
        ))
    }
}

struct Checked<Old, New> {
    states: BTreeMap<String, StateFn>,
    old: WorkflowShape,
    new: WorkflowShape,
    _w: PhantomData<fn() -> (Old, New)>,
}

impl<Old: Workflow, New: Workflow> DynMigration for Checked<Old, New> {
    fn apply(&self, blob: &[u8]) -> Result<Moved, MachineError> {
        let (ctx, state): (WorkflowContext, Old::State) = codec::decode(blob)?;
        let parts = Old::dissect(&state)?;
        let from = parts.id().to_string();
        let old_shape = self
            .old
            .state_by_id(&from)
            .ok_or_else(|| MachineError::NoSuchState {
                workflow: Old::NAME,
                state: from.clone(),
            })?;
        let parts = match self.states.get(&from) {
            None => parts,
            Some(f) => {
                let mut m = Migrate {
                    old: &parts,
                    old_shape,
                    new: &self.new,
                    target: from.clone(),
                    set: StateParts::new(&from),
                };
                f(&mut m).map_err(|e| MachineError::Migration {
                    state: from.clone(),
                    detail: e.to_string(),
                })?;
                let (target, set) = (m.target, m.set);
                carry(&parts, old_shape, set, &target, &self.new, New::NAME)?
            }
        };
        let next = New::assemble(parts)?;
        let to = New::state_id(&next).to_string();
        Ok(Moved {
            blob: codec::encode(&(&ctx, &next))?,
            from,
            to,
        })
    }
}

/// The parts of new state `target`: what the function set, then old fields of the same name and
/// shape, then the old wait if it stores the same.
fn carry(
    old: &StateParts,
    old_shape: &StateShape,
    mut set: StateParts,
    target: &str,
    new: &WorkflowShape,
    workflow: &'static str,
) -> Result<StateParts, MachineError> {
    let Some(t) = new.state_by_id(target) else {
        return Err(MachineError::NoSuchState {
            workflow,
            state: target.to_string(),
        });
    };
    set.set_id(target);
    for f in &t.fields {
        if set.field_bytes(&f.name).is_some() {
            continue;
        }
        let same = old_shape
            .fields
            .iter()
            .find(|o| o.name == f.name)
            .is_some_and(|o| o.ty.shape.fingerprint() == f.ty.shape.fingerprint());
        if let (true, Some(bytes)) = (same, old.field_bytes(&f.name)) {
            set.put_bytes(&f.name, bytes.to_vec());
        }
    }
    let same_wait = match (&old_shape.wait, &t.wait) {
        (Some(a), Some(b)) => a.fingerprint() == b.fingerprint(),
        _ => false,
    };
    if same_wait {
        set.set_wait_raw(old.wait_bytes().map(<[u8]>::to_vec));
    }
    Ok(set)
}
