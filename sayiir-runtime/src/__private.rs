//! Items named by macro-generated code (through `::sayiir::__private`). Not a public API.
//!
//! Every serde bound the generated code needs goes through [`Stored`] / [`Restored`] in a call
//! whose type argument carries the span of the user's type, so a type that cannot be stored is
//! reported once, at that type, in sayiir's words (rustc merges identical diagnostics).

use std::marker::PhantomData;

use serde::Serialize;
use serde::de::{DeserializeOwned, Error as _, SeqAccess};
use serde::ser::SerializeTuple;

/// The codec (tests of the stored bytes decode with it).
pub mod codec {
    pub use crate::codec::*;
}
pub use crate::describe::{Describe, TaskShape, WaitShape, WorkflowShape};
pub use crate::hash::{blake3, blake3_parts};
pub use crate::inline::run_inline;
pub use crate::inline::run_inline_with;
pub use crate::join::{
    Branch, ForIter, Join2, Join3, Join4, Join5, Join6, Join7, Join8, JoinAll, Try, TryCollect,
    TryJoin2, TryJoin3, TryJoin4, TryJoin5, TryJoin6, TryJoin7, TryJoin8, TryJoinAll, TryOutput,
};
pub use crate::machine::{
    Advance, Callee, ChildWait, DescribeWait, Input, MachineError, OnExhausted, ResultOutput,
    Resumed, RetryPolicy, SignalSet, Task, TaskOptions, TaskRate, TaskRun, TaskTimeout, TaskWait,
    TimeoutCallee, Unwrap, Wait, WorkKind, WorkSink, Workflow,
};
pub use crate::parts::StateParts;
pub use crate::resources::{MissingResource, ResourceNeed, ResourceParam};
pub use crate::shared::WorkflowContext;
pub use crate::waits::ContinueWait;

/// `(&PermanentProbe(&error)).sayiir_permanent()`, with [`ViaPolicy`] and [`ViaDefault`] in
/// scope, asks the error's [`RetryPolicy`] when its type implements it and says "not
/// permanent" otherwise (method resolution prefers the by-value impl; the fallback needs an
/// autoref).
pub struct PermanentProbe<'a, E>(pub &'a E);

/// The [`RetryPolicy`] arm of [`PermanentProbe`].
pub trait ViaPolicy {
    /// Whether the error is permanent.
    fn sayiir_permanent(&self) -> bool;
}

impl<E: RetryPolicy> ViaPolicy for PermanentProbe<'_, E> {
    fn sayiir_permanent(&self) -> bool {
        self.0.is_permanent()
    }
}

/// The fallback arm of [`PermanentProbe`]: errors without a policy are retried.
pub trait ViaDefault {
    /// Always `false`.
    fn sayiir_permanent(&self) -> bool;
}

impl<E> ViaDefault for &PermanentProbe<'_, E> {
    fn sayiir_permanent(&self) -> bool {
        false
    }
}
pub use serde;
pub use std::num::NonZeroU32;
pub use std::time::Duration;

/// Types a workflow can store: the serializing half.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be stored by a workflow: it does not implement `serde::Serialize`",
    label = "task arguments, task outputs and values kept across an `.await` are stored durably",
    note = "derive it: `#[derive(serde::Serialize, serde::Deserialize)]`, or store an owned, serializable form of the value"
)]
pub trait Stored: Serialize {}
impl<T: Serialize + ?Sized> Stored for T {}

/// Types a workflow can store: the deserializing half.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be restored by a workflow: it does not implement `serde::Deserialize`",
    label = "task arguments, task outputs and values kept across an `.await` are restored from storage",
    note = "derive it: `#[derive(serde::Serialize, serde::Deserialize)]`; borrowed data (`&str`, `Cow<'a, _>`) cannot be restored, use owned types"
)]
pub trait Restored: DeserializeOwned {}
impl<T: DeserializeOwned> Restored for T {}

/// Serializes one field of a state variant.
pub fn ser_field<T: Stored, S: SerializeTuple>(tuple: &mut S, value: &T) -> Result<(), S::Error> {
    tuple.serialize_element(value)
}

/// Deserializes one field of a state variant.
pub fn de_field<'de, T: Restored, A: SeqAccess<'de>>(seq: &mut A) -> Result<T, A::Error> {
    de_next(seq)
}

/// Deserializes the next element of a state variant (for runtime-owned types).
pub fn de_next<'de, T: serde::Deserialize<'de>, A: SeqAccess<'de>>(
    seq: &mut A,
) -> Result<T, A::Error> {
    seq.next_element()?
        .ok_or_else(|| A::Error::custom("state blob ends before the state's last field"))
}

/// Error for a state blob whose variant index is unknown.
pub fn unknown_variant<E: serde::de::Error>(workflow: &str, index: u32) -> E {
    E::custom(format_args!(
        "workflow `{workflow}` has no state number {index}"
    ))
}

// Generated code names a stored type only in calls of `ser_field` and `de_field`, so that a
// type that cannot be stored gets one error of each kind at its token, whatever else the code
// does with it (rustc merges identical diagnostics; another function would be another one).

/// Encodes the one value `write` writes (with `ser_field`) as a tagged blob.
pub fn encode_with(
    write: impl FnOnce(&mut FieldWriter) -> Result<(), CodecError>,
) -> Result<Vec<u8>, CodecError> {
    let mut w = FieldWriter::blob();
    write(&mut w)?;
    w.into_blob()
}

/// Decodes the one value `read` reads (with `de_field`) from a tagged blob.
pub fn decode_with<T>(
    bytes: &[u8],
    read: impl FnOnce(&mut FieldReader<'_>) -> Result<T, CodecError>,
) -> Result<T, CodecError> {
    let mut r = FieldReader::new(codec::payload(bytes)?);
    let value = read(&mut r)?;
    r.finish(std::any::type_name::<T>())?;
    Ok(value)
}

/// Appends task arguments written by `write` (with `ser_field`) to an encoded argument list;
/// a failure is recorded in `cx`.
pub fn write_args(
    cx: &StepCx,
    args: &mut Vec<u8>,
    write: impl FnOnce(&mut FieldWriter) -> Result<(), CodecError>,
) {
    let start = args.len();
    let mut w = FieldWriter::over(std::mem::take(args));
    let result = write(&mut w);
    *args = w.into_bytes();
    if let Err(e) = result {
        args.truncate(start);
        cx.fail(e);
    }
}

/// Starts reading an encoded argument list (with `de_field`).
pub fn args_reader(bytes: &[u8]) -> FieldReader<'_> {
    FieldReader::new(bytes)
}

/// A task's encoded return value (a blob from [`encode_with`]), saying whether it is an error
/// and whether the error is permanent ([`RetryPolicy`]).
pub fn task_output(bytes: Vec<u8>, is_error: bool, permanent: bool) -> TaskOutput {
    TaskOutput {
        bytes,
        is_error,
        permanent,
    }
}

/// Takes a state apart: `write` writes its fields (with `ser_field`), then its wait.
pub fn dissect(
    id: &str,
    names: &[&str],
    has_wait: bool,
    write: impl FnOnce(&mut FieldWriter) -> Result<(), CodecError>,
) -> Result<StateParts, CodecError> {
    let mut w = FieldWriter::parts();
    write(&mut w)?;
    let mut parts = w.into_parts().into_iter();
    let mut out = StateParts::new(id);
    for name in names {
        if let Some(bytes) = parts.next() {
            out.put_bytes(name, bytes);
        }
    }
    if has_wait {
        out.set_wait_raw(parts.next());
    }
    Ok(out)
}

/// Boxes a task future; the bound names what is wrong when a task's future is not `Send`.
pub fn box_task<F>(future: F) -> BoxFuture<Result<TaskOutput, MachineError>>
where
    F: std::future::Future<Output = Result<TaskOutput, MachineError>> + Send + 'static,
{
    Box::pin(future)
}

/// The resource parameter `param` (written `Res<..>`, its type `R`) of task `task`, from the
/// resources of the running task. `R` must be `sayiir::Res<T>` ([`ResourceParam`]).
pub fn resource<R: ResourceParam>(
    task: &'static str,
    param: &'static str,
) -> Result<R, MachineError> {
    crate::context::current_resources()
        .and_then(|set| R::fetch(&set))
        .ok_or_else(|| {
            MachineError::MissingResource(MissingResource {
                task,
                type_name: R::type_name(),
                param,
            })
        })
}

/// Whether a `Result` return value is an `Err`.
pub fn is_err<R: ResultOutput>(value: &R) -> bool {
    value.is_err()
}

/// Whether a value is an error, for return types that are not `Result`: never.
pub fn never_err<R>(_: &R) -> bool {
    false
}

pub use crate::codec::{CodecError, FieldReader, FieldWriter};
pub use crate::machine::{BoxFuture, StepCx, TaskOutput};
pub use core::fmt;
pub use core::option::Option;
pub use core::result::Result;
pub use futures_util;
pub use std::string::String;
pub use std::vec::Vec;
pub use tokio;

/// Names the type of field `I` of a tuple type: types destructured from a join's result.
pub trait TupleField<const I: usize> {
    /// The field's type.
    type Ty;
}

macro_rules! tuple_field {
    (($($all:ident),+), $i:literal, $t:ident) => {
        impl<$($all),+> TupleField<$i> for ($($all,)+) {
            type Ty = $t;
        }
    };
}

macro_rules! tuple_fields {
    ($all:tt; $($i:literal $t:ident),+) => {
        $(tuple_field!($all, $i, $t);)+
    };
}

tuple_fields!((A); 0 A);
tuple_fields!((A, B); 0 A, 1 B);
tuple_fields!((A, B, C); 0 A, 1 B, 2 C);
tuple_fields!((A, B, C, D); 0 A, 1 B, 2 C, 3 D);
tuple_fields!((A, B, C, D, E); 0 A, 1 B, 2 C, 3 D, 4 E);
tuple_fields!((A, B, C, D, E, F); 0 A, 1 B, 2 C, 3 D, 4 E, 5 F);
tuple_fields!((A, B, C, D, E, F, G); 0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G);
tuple_fields!((A, B, C, D, E, F, G, H); 0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H);

/// Task error types a timed-out attempt converts into (`#[task(timeout = ..)]`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot hold a task timeout: implement `From<sayiir::TaskTimeout>` for it",
    label = "the error type of a task with a `timeout`",
    note = "an attempt that runs past its timeout returns `Err(E::from(timeout))`, retried like any other error"
)]
pub trait FromTimeout: From<TaskTimeout> {}
impl<E: From<TaskTimeout>> FromTimeout for E {}

/// The error a timed-out attempt returns.
pub fn from_timeout<E: FromTimeout>(timeout: TaskTimeout) -> E {
    E::from(timeout)
}

/// Two `signal::<T>("name")` waits of one workflow name the same signal: their payload types
/// must be the same type, or a sender could not know which one to send.
#[diagnostic::on_unimplemented(
    message = "this signal was awaited earlier in this workflow with payload type `{A}`, here with `{Self}`",
    label = "a signal name carries one payload type",
    note = "use one payload type per signal name (an enum if the values differ), or another name"
)]
pub trait SameSignalType<A> {}
impl<T> SameSignalType<T> for T {}

/// Compiles only when `A` and `B` are the same type (see [`SameSignalType`]).
pub fn same_signal_type<A, B: SameSignalType<A>>() {}

/// The type of a workflow's `&mut WorkflowContext` parameter, as written: only sayiir's
/// [`WorkflowContext`] implements it. Generated code lends the context to the user's code and
/// back through it, at the written type's tokens, so another type of that name is one error
/// there and the body still type-checks against the type it names.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not `sayiir::WorkflowContext`: a first parameter written `&mut WorkflowContext` is the workflow's shared context",
    label = "this names another type than `sayiir::WorkflowContext`",
    note = "write `ctx: &mut sayiir::WorkflowContext`, or give your own type another name (a workflow input is owned: `input: YourType`)"
)]
pub trait SharedContext {
    /// The context, as the parameter's type.
    fn lend(context: &mut WorkflowContext) -> &mut Self;
    /// The parameter, as the context.
    fn back(&mut self) -> &mut WorkflowContext;
}

impl SharedContext for WorkflowContext {
    fn lend(context: &mut WorkflowContext) -> &mut Self {
        context
    }
    fn back(&mut self) -> &mut WorkflowContext {
        self
    }
}

/// `InputProbe::<T>::NEW.sayiir_input()`, with [`AnyInput`] in scope, is [`PlainInput`] for
/// every workflow input type but sayiir's [`WorkflowContext`] (an inherent method is found
/// before a trait's), for which [`plain_input`] then says that the context is not an input.
pub struct InputProbe<T>(PhantomData<fn() -> T>);

impl<T> InputProbe<T> {
    /// The probe.
    pub const NEW: Self = Self(PhantomData);
}

impl InputProbe<WorkflowContext> {
    /// Sayiir's context taken by value.
    pub fn sayiir_input(self) -> ContextByValue {
        ContextByValue
    }
}

/// The fallback arm of [`InputProbe`].
pub trait AnyInput {
    /// Any other input type.
    fn sayiir_input(self) -> PlainInput;
}

impl<T> AnyInput for InputProbe<T> {
    fn sayiir_input(self) -> PlainInput {
        PlainInput
    }
}

/// An input that is not the shared context.
#[derive(Debug)]
pub struct PlainInput;

/// Sayiir's shared context taken as an input.
#[derive(Debug)]
pub struct ContextByValue;

/// What [`plain_input`] accepts: [`PlainInput`] only.
#[diagnostic::on_unimplemented(
    message = "the shared context is lent to the workflow, not passed by value: take it as the first parameter, `ctx: &mut sayiir::WorkflowContext`",
    label = "`sayiir::WorkflowContext` taken by value, as an input",
    note = "a workflow's inputs are what `engine.start` and its callers pass; the shared context belongs to the instance"
)]
pub trait NotContext {}

impl NotContext for PlainInput {}

/// Checks the outcome of an [`InputProbe`].
pub fn plain_input<T: NotContext>(_: T) {}

pub use crate::machine::seal::{TaskSeal, WorkflowSeal};
