//! Resources: values the application gives the engine once (a database pool, an HTTP client,
//! a fake of either in tests) and tasks receive as [`Res<T>`] parameters. A resource is not
//! stored, not an argument of the task call in the workflow body, and not part of any hash or
//! fingerprint; a workflow whose tasks need a resource the engine was not given is refused by
//! `build()` (see `docs/resources.md`).

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::ops::Deref;
use std::sync::Arc;

tokio::task_local! {
    /// The resources of workflows called directly inside [`Resources::scope`].
    static DIRECT: Arc<Resources>;
}

/// A resource a task receives: a shared handle to one value of type `T` registered on the
/// engine (`Engine::builder(store).resource(value)`).
///
/// A `#[task]` parameter whose type is written `Res<T>` (or `sayiir::Res<T>`) is filled by the
/// engine when the task runs; the workflow body calls the task without it. `Res<T>` is cheap
/// to clone (an [`Arc`]) and derefs to `T`. Calling the task function directly, as plain
/// Rust, takes the value explicitly: `charge(order, Res::new(pool)).await`.
pub struct Res<T: ?Sized>(Arc<T>);

impl<T> Res<T> {
    /// A resource holding `value` (for calling a task function directly).
    pub fn new(value: T) -> Self {
        Self(Arc::new(value))
    }
}

impl<T: ?Sized> Res<T> {
    /// The shared value behind the resource.
    pub fn as_arc(this: &Self) -> &Arc<T> {
        &this.0
    }

    /// Turns the resource into its shared value.
    pub fn into_arc(this: Self) -> Arc<T> {
        this.0
    }
}

impl<T: ?Sized> Clone for Res<T> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<T: ?Sized> Deref for Res<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: ?Sized> AsRef<T> for Res<T> {
    fn as_ref(&self) -> &T {
        &self.0
    }
}

impl<T: ?Sized> From<Arc<T>> for Res<T> {
    fn from(value: Arc<T>) -> Self {
        Self(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Res<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Res").field(&&*self.0).finish()
    }
}

struct Slot {
    type_name: &'static str,
    /// An `Arc<T>` (so that `T` may be unsized, e.g. `dyn Trait`).
    value: Box<dyn Any + Send + Sync>,
}

/// A set of resources, one value per type.
///
/// The engine holds one, filled by `EngineBuilder::resource`. A workflow function called
/// directly (not through an engine) finds its tasks' resources in the set given to
/// [`Resources::scope`] around the call.
#[derive(Default)]
pub struct Resources {
    slots: HashMap<TypeId, Slot>,
}

impl fmt::Debug for Resources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&str> = self.slots.values().map(|s| s.type_name).collect();
        names.sort_unstable();
        f.debug_set().entries(names).finish()
    }
}

impl Resources {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `value` as the resource of type `T`, replacing an earlier one of that type.
    pub fn with<T: Send + Sync + 'static>(self, value: T) -> Self {
        self.with_arc(Arc::new(value))
    }

    /// Adds an already shared value, which may be unsized: `with_arc::<dyn Mailer>(Arc::new(
    /// FakeMailer))` serves parameters `Res<dyn Mailer>`. Replaces an earlier one of that type.
    pub fn with_arc<T: ?Sized + Send + Sync + 'static>(mut self, value: Arc<T>) -> Self {
        self.insert_arc(value);
        self
    }

    pub(crate) fn insert_arc<T: ?Sized + Send + Sync + 'static>(&mut self, value: Arc<T>) {
        self.slots.insert(
            TypeId::of::<T>(),
            Slot {
                type_name: std::any::type_name::<T>(),
                value: Box::new(value),
            },
        );
    }

    /// The resource of type `T`, if the set has one.
    pub fn get<T: ?Sized + Send + Sync + 'static>(&self) -> Option<Res<T>> {
        self.slots
            .get(&TypeId::of::<T>())
            .and_then(|s| s.value.downcast_ref::<Arc<T>>())
            .map(|a| Res(Arc::clone(a)))
    }

    /// Whether the set has a resource of the type `type_id`.
    pub fn contains(&self, type_id: TypeId) -> bool {
        self.slots.contains_key(&type_id)
    }

    /// How many resources the set holds.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Runs `future` (typically a direct call of a `#[workflow]` function) with these
    /// resources: the tasks it runs receive their `Res<T>` parameters from this set, as in
    /// `Resources::new().with(pool).scope(open_account(signup)).await` (see
    /// `docs/resources.md`, whose examples are compiled and run as doctests of `sayiir`).
    pub fn scope<F: Future>(self, future: F) -> impl Future<Output = F::Output> {
        DIRECT.scope(Arc::new(self), future)
    }

    /// The resources of a workflow run directly: those of the enclosing [`Resources::scope`],
    /// else those of the task this run is inside of, else none.
    pub(crate) fn direct() -> Arc<Resources> {
        DIRECT
            .try_with(Arc::clone)
            .ok()
            .or_else(crate::context::current_resources)
            .unwrap_or_default()
    }
}

/// A resource a task needs: the type of one of its `Res<T>` parameters. Listed by
/// [`Task::resources`](crate::Task::resources) and carried by the task's description, so that
/// `build()` can refuse a workflow whose tasks need a resource the engine was not given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceNeed {
    /// `TypeId` of `T`.
    pub type_id: TypeId,
    /// `std::any::type_name` of `T`.
    pub type_name: &'static str,
    /// The parameter as written, e.g. `pool: Res<PgPool>`.
    pub param: &'static str,
}

impl ResourceNeed {
    /// The need of parameter `param` (as written) of type `Res<T>`.
    pub fn of<T: ?Sized + 'static>(param: &'static str) -> Self {
        Self {
            type_id: TypeId::of::<T>(),
            type_name: std::any::type_name::<T>(),
            param,
        }
    }
}

/// A task needed a resource its run was not given. Under an engine this cannot happen
/// (`build()` checks every task of every registered workflow); a workflow function called
/// directly has only the resources of the [`Resources::scope`] around the call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "task `{task}` needs the resource `{type_name}` (its parameter `{param}`), which this run was not given: run the workflow on an engine built with `.resource(value)`, or call it inside `sayiir::Resources::new().with(value).scope(..)`"
)]
pub struct MissingResource {
    /// The task.
    pub task: &'static str,
    /// `std::any::type_name` of the resource.
    pub type_name: &'static str,
    /// The parameter as written.
    pub param: &'static str,
}

/// Types a `#[task]` parameter written `Res<..>` may have: only sayiir's [`Res`]. Generated
/// code asks for the parameter through this trait, so another type named `Res` is a compile
/// error at the parameter.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not `sayiir::Res`: a `#[task]` parameter whose type is written `Res<..>` is a resource the engine provides",
    label = "a resource parameter must have type `sayiir::Res<T>`",
    note = "to pass your own type named `Res` as a stored argument, name it otherwise at the parameter: `use crate::Res as MyRes;` or `type MyRes<T> = Res<T>;`"
)]
pub trait ResourceParam: Sized {
    /// The resource's type name, for messages.
    fn type_name() -> &'static str;
    /// Takes the resource from `resources`.
    fn fetch(resources: &Resources) -> Option<Self>;
}

impl<T: ?Sized + Send + Sync + 'static> ResourceParam for Res<T> {
    fn type_name() -> &'static str {
        std::any::type_name::<T>()
    }
    fn fetch(resources: &Resources) -> Option<Self> {
        resources.get::<T>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    trait Greeter: Send + Sync {
        fn greet(&self) -> String;
    }

    struct En;
    impl Greeter for En {
        fn greet(&self) -> String {
            "hello".into()
        }
    }

    #[test]
    fn one_value_per_type_shared_and_replaceable() {
        let set = Resources::new()
            .with(1u32)
            .with(String::from("a"))
            .with(2u32)
            .with_arc::<dyn Greeter>(Arc::new(En));
        assert_eq!(set.len(), 3);
        assert_eq!(set.get::<u32>().map(|r| *r), Some(2));
        assert_eq!(
            set.get::<String>().as_deref().map(String::as_str),
            Some("a")
        );
        assert_eq!(
            set.get::<dyn Greeter>().map(|g| g.greet()).as_deref(),
            Some("hello")
        );
        assert!(set.get::<u64>().is_none());
        let (a, b) = (set.get::<String>(), set.get::<String>());
        assert!(
            matches!((a, b), (Some(a), Some(b)) if Arc::ptr_eq(Res::as_arc(&a), Res::as_arc(&b)))
        );
        assert!(set.contains(TypeId::of::<u32>()));
        assert_eq!(
            format!("{set:?}"),
            format!(
                "{{\"alloc::string::String\", {:?}, \"u32\"}}",
                std::any::type_name::<dyn Greeter>()
            )
        );
    }

    #[test]
    fn needs_name_the_type_and_the_parameter() {
        let need = ResourceNeed::of::<dyn Greeter>("g: Res<dyn Greeter>");
        assert_eq!(need.type_id, TypeId::of::<dyn Greeter>());
        assert!(need.type_name.ends_with("Greeter"), "{}", need.type_name);
        let e = MissingResource {
            task: "charge",
            type_name: "u32",
            param: "n: Res<u32>",
        };
        assert!(
            e.to_string().starts_with(
                "task `charge` needs the resource `u32` (its parameter `n: Res<u32>`)"
            ),
            "{e}"
        );
    }
}
