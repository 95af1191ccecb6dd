//! Fork/join waits: several calls pending at once in one state.
//!
//! Branch `i` of a join is addressed by slot paths starting with `i`, so the driver runs every
//! pending branch concurrently and feeds each result to the join as it arrives; each arrival is
//! its own committed transition, so a crash re-runs only the branches that had not finished.
//! A finished branch keeps its output encoded until the last branch finishes.
//!
//! `join!` / `join_all` yield every branch's value. `try_join!` / `try_join_all` wait for every
//! branch too, then yield `Ok` of all success values, or the error of the first failed branch in
//! argument order (not in completion order, so the outcome does not depend on timing).

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::codec::CodecError;
use crate::describe::{Describe, WaitShape};
use crate::machine::{DescribeWait, Input, MachineError, Resumed, StepCx, TaskRun, Wait, WorkSink};

/// One branch of a join.
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub enum Branch<W: Wait> {
    /// Still running.
    Pending(W),
    /// Finished, with its encoded output.
    Done(Vec<u8>),
}

impl<W: Wait> Branch<W> {
    /// A branch waiting on `wait`.
    pub fn new(wait: W) -> Self {
        Branch::Pending(wait)
    }

    fn work(&self, index: u32, sink: &mut WorkSink) {
        if let Branch::Pending(w) = self {
            sink.nested(index, |s| w.work(s));
        }
    }

    fn run(&self, rest: &[u32], join: &'static str) -> Result<TaskRun, MachineError> {
        match self {
            Branch::Pending(w) => w.run(rest),
            Branch::Done(_) => Err(MachineError::no_slot(join, rest)),
        }
    }

    fn resume(self, rest: &[u32], input: Input<'_>, cx: &StepCx) -> Result<Self, MachineError> {
        match self {
            Branch::Pending(w) => Ok(match w.resume(rest, input, cx)? {
                Resumed::Pending(w) => Branch::Pending(w),
                Resumed::Ready(out) => Branch::Done(W::encode_output(&out)?),
            }),
            Branch::Done(_) => Err(MachineError::unexpected("join branch", &input, rest)),
        }
    }

    fn is_done(&self) -> bool {
        matches!(self, Branch::Done(_))
    }

    fn output(&self) -> Result<W::Output, CodecError> {
        match self {
            Branch::Done(bytes) => W::decode_output(bytes),
            Branch::Pending(_) => Err(CodecError::Malformed {
                ty: "join branch",
                detail: "branch read before it finished".into(),
            }),
        }
    }
}

fn split(slot: &[u32]) -> Option<(usize, &[u32])> {
    let (first, rest) = slot.split_first()?;
    Some((usize::try_from(*first).ok()?, rest))
}

/// A `Result`-like branch output, for `try_join!` / `try_join_all`.
#[diagnostic::on_unimplemented(
    message = "`try_join!` and `try_join_all` need calls returning `Result`, but one returns `{Self}`",
    label = "a branch of this join does not return a `Result`",
    note = "use `sayiir::join!` / `sayiir::join_all` to get every branch's value as it is"
)]
pub trait TryOutput {
    /// Success type.
    type Ok;
    /// Error type.
    type Err;
    /// As a `Result`.
    fn into_result(self) -> Result<Self::Ok, Self::Err>;
}

impl<T, E> TryOutput for Result<T, E> {
    type Ok = T;
    type Err = E;
    fn into_result(self) -> Result<T, E> {
        self
    }
}

macro_rules! tuple_join {
    ($join:ident, $try_join:ident, $n:literal; $($w:ident $i:tt),+) => {
        /// A fixed-arity, heterogeneous join.
        #[derive(Serialize, Deserialize)]
        #[serde(bound = "")]
        pub struct $join<$($w: Wait),+>($(pub Branch<$w>),+);

        impl<$($w: Wait),+> $join<$($w),+> {
            /// All branches pending.
            #[allow(clippy::too_many_arguments, non_snake_case)]
            pub fn new($($w: $w),+) -> Self {
                Self($(Branch::new($w)),+)
            }

            fn all_done(&self) -> bool {
                $(self.$i.is_done())&&+
            }

            fn outputs(&self) -> Result<($($w::Output,)+), CodecError> {
                Ok(($(self.$i.output()?,)+))
            }

            fn resume_branch(
                mut self,
                slot: &[u32],
                input: Input<'_>,
                cx: &StepCx,
            ) -> Result<Self, MachineError> {
                let Some((index, rest)) = split(slot) else {
                    return Err(MachineError::no_slot(stringify!($join), slot));
                };
                match index {
                    $($i => self.$i = self.$i.resume(rest, input, cx)?,)+
                    _ => return Err(MachineError::no_slot(stringify!($join), slot)),
                }
                Ok(self)
            }
        }

        impl<$($w: Wait),+> Wait for $join<$($w),+> {
            type Output = ($($w::Output,)+);

            fn work(&self, sink: &mut WorkSink) {
                $(self.$i.work($i, sink);)+
            }

            fn run(&self, slot: &[u32]) -> Result<TaskRun, MachineError> {
                match split(slot) {
                    $(Some(($i, rest)) => self.$i.run(rest, stringify!($join)),)+
                    _ => Err(MachineError::no_slot(stringify!($join), slot)),
                }
            }

            fn resume(
                self,
                slot: &[u32],
                input: Input<'_>,
                cx: &StepCx,
            ) -> Result<Resumed<Self, Self::Output>, MachineError> {
                let next = self.resume_branch(slot, input, cx)?;
                if next.all_done() {
                    Ok(Resumed::Ready(next.outputs()?))
                } else {
                    Ok(Resumed::Pending(next))
                }
            }

            fn encode_output(output: &Self::Output) -> Result<Vec<u8>, CodecError> {
                let mut parts = Vec::with_capacity($n);
                $(parts.push($w::encode_output(&output.$i)?);)+
                crate::codec::encode(&parts)
            }

            fn decode_output(bytes: &[u8]) -> Result<Self::Output, CodecError> {
                let parts: Vec<Vec<u8>> = crate::codec::decode(bytes)?;
                if parts.len() != $n {
                    return Err(CodecError::Malformed { ty: stringify!($join), detail: format!("{} parts", parts.len()) });
                }
                Ok(($($w::decode_output(&parts[$i])?,)+))
            }
        }

        impl<$($w: Wait + DescribeWait),+> DescribeWait for $join<$($w),+> {
            fn describe(d: &mut Describe<'_>) -> WaitShape {
                WaitShape::Join(vec![$($w::describe(d)),+])
            }
        }

        impl<E, $($w: TryOutput<Err = E>),+> TryCollect for ($($w,)+) {
            type Output = Result<($(<$w as TryOutput>::Ok,)+), E>;
            fn try_collect(self) -> Self::Output {
                Ok(($(self.$i.into_result()?,)+))
            }
        }

        /// [`Try`] over this join.
        pub type $try_join<$($w),+> = Try<$join<$($w),+>>;

        impl<$($w: Wait),+> Try<$join<$($w),+>> {
            /// All branches pending.
            #[allow(clippy::too_many_arguments, non_snake_case)]
            pub fn new($($w: $w),+) -> Self {
                Try($join::new($($w),+))
            }
        }
    };
}

tuple_join!(Join2, TryJoin2, 2; A 0, B 1);
tuple_join!(Join3, TryJoin3, 3; A 0, B 1, C 2);
tuple_join!(Join4, TryJoin4, 4; A 0, B 1, C 2, D 3);
tuple_join!(Join5, TryJoin5, 5; A 0, B 1, C 2, D 3, E5 4);
tuple_join!(Join6, TryJoin6, 6; A 0, B 1, C 2, D 3, E5 4, F 5);
tuple_join!(Join7, TryJoin7, 7; A 0, B 1, C 2, D 3, E5 4, F 5, G 6);
tuple_join!(Join8, TryJoin8, 8; A 0, B 1, C 2, D 3, E5 4, F 5, G 6, H 7);

/// A join over a dynamic number of calls of one callee.
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub struct JoinAll<W: Wait>(pub Vec<Branch<W>>);

impl<W: Wait> JoinAll<W> {
    /// All branches pending.
    pub fn new(waits: impl IntoIterator<Item = W>) -> Self {
        Self(waits.into_iter().map(Branch::new).collect())
    }

    fn outputs(&self) -> Result<Vec<W::Output>, CodecError> {
        self.0.iter().map(Branch::output).collect()
    }
}

impl<W: Wait> Wait for JoinAll<W> {
    type Output = Vec<W::Output>;

    fn work(&self, sink: &mut WorkSink) {
        if self.0.is_empty() {
            // Nothing to wait for: ready as soon as a transition takes it.
            sink.push(crate::machine::WorkKind::Immediate);
        }
        for (i, b) in self.0.iter().enumerate() {
            b.work(u32::try_from(i).unwrap_or(u32::MAX), sink);
        }
    }

    fn run(&self, slot: &[u32]) -> Result<TaskRun, MachineError> {
        match split(slot) {
            Some((i, rest)) if i < self.0.len() => self.0[i].run(rest, "join_all"),
            _ => Err(MachineError::no_slot("join_all", slot)),
        }
    }

    fn resume(
        mut self,
        slot: &[u32],
        input: Input<'_>,
        cx: &StepCx,
    ) -> Result<Resumed<Self, Self::Output>, MachineError> {
        if self.0.is_empty() && slot.is_empty() && matches!(input, Input::Start) {
            return Ok(Resumed::Ready(Vec::new()));
        }
        let Some((i, rest)) = split(slot).filter(|(i, _)| *i < self.0.len()) else {
            return Err(MachineError::no_slot("join_all", slot));
        };
        let branch = std::mem::replace(&mut self.0[i], Branch::Done(Vec::new()));
        self.0[i] = branch.resume(rest, input, cx)?;
        if self.0.iter().all(Branch::is_done) {
            Ok(Resumed::Ready(self.outputs()?))
        } else {
            Ok(Resumed::Pending(self))
        }
    }

    fn encode_output(output: &Self::Output) -> Result<Vec<u8>, CodecError> {
        let parts = output
            .iter()
            .map(W::encode_output)
            .collect::<Result<Vec<_>, _>>()?;
        crate::codec::encode(&parts)
    }

    fn decode_output(bytes: &[u8]) -> Result<Self::Output, CodecError> {
        let parts: Vec<Vec<u8>> = crate::codec::decode(bytes)?;
        parts.iter().map(|p| W::decode_output(p)).collect()
    }
}

impl<W: Wait + DescribeWait> DescribeWait for JoinAll<W> {
    fn describe(d: &mut Describe<'_>) -> WaitShape {
        WaitShape::JoinAll(Box::new(W::describe(d)))
    }
}

/// [`Try`] over a [`JoinAll`].
pub type TryJoinAll<W> = Try<JoinAll<W>>;

impl<W: Wait> Try<JoinAll<W>> {
    /// All branches pending.
    pub fn new(waits: impl IntoIterator<Item = W>) -> Self {
        Try(JoinAll::new(waits))
    }
}

impl<R: TryOutput> TryCollect for Vec<R> {
    type Output = Result<Vec<R::Ok>, R::Err>;
    fn try_collect(self) -> Self::Output {
        self.into_iter().map(TryOutput::into_result).collect()
    }
}

/// The outputs of a join, settled into one `Result`: `Ok` of every success value, or the first
/// error in argument order.
pub trait TryCollect {
    /// The settled result.
    type Output;
    /// Settles the outputs.
    fn try_collect(self) -> Self::Output;
}

/// A join of fallible calls (`try_join!`, `try_join_all`): waits for every branch, then yields
/// `Ok` of every success value or the first error in argument order.
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub struct Try<J: Wait>(pub J);

impl<J: Wait> Wait for Try<J>
where
    J::Output: TryCollect,
{
    type Output = <J::Output as TryCollect>::Output;

    fn work(&self, sink: &mut WorkSink) {
        self.0.work(sink)
    }

    fn run(&self, slot: &[u32]) -> Result<TaskRun, MachineError> {
        self.0.run(slot)
    }

    fn resume(
        self,
        slot: &[u32],
        input: Input<'_>,
        cx: &StepCx,
    ) -> Result<Resumed<Self, Self::Output>, MachineError> {
        Ok(match self.0.resume(slot, input, cx)? {
            Resumed::Pending(j) => Resumed::Pending(Try(j)),
            Resumed::Ready(all) => Resumed::Ready(all.try_collect()),
        })
    }

    fn encode_output(_: &Self::Output) -> Result<Vec<u8>, CodecError> {
        // A join is the whole wait of a state, never a branch of another join.
        Err(CodecError::Encode {
            ty: "Try",
            detail: "a try-join's output is never stored".into(),
        })
    }

    fn decode_output(_: &[u8]) -> Result<Self::Output, CodecError> {
        Err(CodecError::Malformed {
            ty: "Try",
            detail: "a try-join's output is never stored".into(),
        })
    }
}

/// Described without `Wait`'s bound on the branch outputs: a `try_join!` of calls that do not
/// return `Result` is reported once, by `Wait`.
impl<J: Wait + DescribeWait> DescribeWait for Try<J> {
    fn describe(d: &mut Describe<'_>) -> WaitShape {
        J::describe(d)
    }
}

/// The position of a `for` loop whose body awaits: the items not yet visited, stored in the
/// state so the loop resumes at the right item after a crash.
#[derive(Serialize, Deserialize)]
pub struct ForIter<T> {
    rest: VecDeque<T>,
}

impl<T> ForIter<T> {
    /// Collects the loop's items.
    pub fn new(items: impl IntoIterator<Item = T>) -> Self {
        Self {
            rest: items.into_iter().collect(),
        }
    }

    /// The next item.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Option<T> {
        self.rest.pop_front()
    }
}
