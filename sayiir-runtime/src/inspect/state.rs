//! A running instance's stored blob, `(WorkflowContext, State)`, read with its workflow's
//! description into a [`StateView`].
//!
//! The layouts read here are those `docs/format.md` writes down: a state is the tuple
//! `(index: u32, carried fields…, wait)` (the serde impls `#[workflow]` generates), and the
//! waits are the runtime's own records (`TaskWait`, `ChildWait`, `TimerWait`, `SignalWait`,
//! `SignalTimeoutWait`, `ContinueWait`, the joins and their `Branch`es). Records of the runtime
//! are read with mirrors of their serde derives; every user value with its traced shape.

use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

use serde::de::{DeserializeSeed, EnumAccess, SeqAccess, VariantAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::cx::{Cx, Seg};
use super::decode::{self, Index, Val, element};
use super::error::InspectError;
use super::view::{BranchView, ContextEntry, StateView, WaitView};
use crate::codec;
use crate::describe::{TaskShape, TypeShape, WaitShape, WorkflowShape, hex};
use crate::shape::{Shape, Variant, VariantFields};
use crate::shared::WorkflowContext;
use crate::waits::SignalTimeout;

/// `TaskWait` (machine/calls.rs), field for field.
#[derive(Deserialize)]
struct RawTask {
    args: Vec<u8>,
    origin: u64,
    attempt: u32,
    not_before: Option<i64>,
    deadline: Option<i64>,
}

/// `TimerWait` (waits.rs).
#[derive(Deserialize)]
struct RawTimer {
    due: i64,
}

/// `SignalWait` (waits.rs).
#[derive(Deserialize)]
struct RawSignal {
    name: String,
}

/// `SignalTimeoutWait` (waits.rs).
#[derive(Deserialize)]
struct RawSignalTimeout {
    name: String,
    deadline: i64,
    after: Duration,
}

/// `ContinueWait` (waits.rs).
#[derive(Deserialize)]
struct RawContinue {
    input: Vec<u8>,
}

static UNIT: Shape = Shape::Unit;

/// The stored blob of a running instance.
pub(super) fn stored(workflow: &WorkflowShape, blob: &[u8]) -> Result<StateView, InspectError> {
    let cx = Cx::new();
    let payload = codec::payload(blob).map_err(|source| InspectError::Blob {
        path: cx.path(),
        source,
    })?;
    let mut de = postcard::Deserializer::from_bytes(payload);
    let (ctx, mut view) = (&mut de)
        .deserialize_tuple(2, StoredV { workflow, cx: &cx })
        .map_err(|e| cx.error_or(&e))?;
    let rest = de.finalize().map_err(|e| cx.error_or(&e))?;
    if !rest.is_empty() {
        return Err(InspectError::TrailingBytes {
            path: cx.path(),
            extra: rest.len(),
        });
    }
    view.context = context(workflow, &ctx, &cx)?;
    Ok(view)
}

/// A start state encoded alone (a `continue_as_new`'s next run).
fn start_state<'s>(
    workflow: &'s WorkflowShape,
    blob: &[u8],
    cx: &Cx<'s>,
) -> Result<StateView, InspectError> {
    let payload = codec::payload(blob).map_err(|source| InspectError::Blob {
        path: cx.path(),
        source,
    })?;
    let mut de = postcard::Deserializer::from_bytes(payload);
    let view = StateSeed { workflow, cx }
        .deserialize(&mut de)
        .map_err(|e| cx.error_or(&e))?;
    let rest = de.finalize().map_err(|e| cx.error_or(&e))?;
    if !rest.is_empty() {
        return Err(InspectError::TrailingBytes {
            path: cx.path(),
            extra: rest.len(),
        });
    }
    Ok(view)
}

fn context<'s>(
    workflow: &'s WorkflowShape,
    ctx: &WorkflowContext,
    cx: &Cx<'s>,
) -> Result<Vec<ContextEntry>, InspectError> {
    let mut known: Option<Vec<(&TypeShape, [u8; 32])>> = None;
    let mut out = Vec::new();
    for (i, (key, type_name, fingerprint, bytes)) in ctx.stored().enumerate() {
        let known = known.get_or_insert_with(|| {
            let mut types = Vec::new();
            types_of(workflow, &mut types);
            types
                .into_iter()
                .map(|t| (t, t.shape.fingerprint()))
                .collect()
        });
        let value = match known.iter().find(|(_, f)| f == fingerprint) {
            Some((t, _)) => Some(cx.at_all(
                [Seg::field("context"), Seg::Index(i), Seg::field("value")],
                || decode::blob(&t.shape, bytes, cx),
            )?),
            None => None,
        };
        out.push(ContextEntry {
            key: key.to_owned(),
            type_name: type_name.to_owned(),
            fingerprint: hex(fingerprint),
            size: bytes.len(),
            value,
        });
    }
    Ok(out)
}

/// Every stored type of a description, children included.
fn types_of<'s>(w: &'s WorkflowShape, out: &mut Vec<&'s TypeShape>) {
    out.extend(w.inputs.iter().map(|f| &f.ty));
    out.push(&w.output);
    for s in &w.states {
        out.extend(s.fields.iter().map(|f| &f.ty));
        if let Some(wait) = &s.wait {
            types_of_wait(wait, out);
        }
    }
}

fn types_of_wait<'s>(w: &'s WaitShape, out: &mut Vec<&'s TypeShape>) {
    match w {
        WaitShape::Task(t) => {
            out.extend(t.args.iter().map(|f| &f.ty));
            out.push(&t.output);
        }
        WaitShape::Child(c) => types_of(c, out),
        WaitShape::Join(ws) => ws.iter().for_each(|w| types_of_wait(w, out)),
        WaitShape::JoinAll(w) => types_of_wait(w, out),
        WaitShape::Signal { payload, .. } => out.push(payload),
        WaitShape::Timer | WaitShape::Continue => {}
    }
}

/// A task's encoded argument list: each argument's bare encoding, one after another.
fn args<'s>(
    task: &'s TaskShape,
    bytes: &[u8],
    cx: &Cx<'s>,
) -> Result<Vec<(String, Value)>, InspectError> {
    let mut rest = bytes;
    let mut out = Vec::with_capacity(task.args.len());
    for arg in &task.args {
        let (value, after) = cx.at(Seg::field(&arg.name), || {
            decode::raw(&arg.ty.shape, rest, cx)
        })?;
        rest = after;
        out.push((arg.name.clone(), value));
    }
    if !rest.is_empty() {
        return Err(InspectError::TrailingBytes {
            path: cx.path(),
            extra: rest.len(),
        });
    }
    Ok(out)
}

/// The value a finished branch keeps: the output blob of its wait.
fn output<'s>(wait: &'s WaitShape, blob: &[u8], cx: &Cx<'s>) -> Result<Value, InspectError> {
    match wait {
        WaitShape::Task(t) => decode::blob(&t.output.shape, blob, cx),
        WaitShape::Child(c) => decode::blob(&c.output.shape, blob, cx),
        WaitShape::Timer => decode::blob(&UNIT, blob, cx),
        WaitShape::Signal {
            payload,
            timeout: false,
        } => decode::blob(&payload.shape, blob, cx),
        WaitShape::Signal {
            payload,
            timeout: true,
        } => {
            let shape = timeout_result(&payload.shape)?;
            decode::blob(&shape, blob, &cx.nested())
        }
        WaitShape::Join(ws) => {
            let parts = parts(blob, cx)?;
            if parts.len() != ws.len() {
                return Err(InspectError::Malformed {
                    path: cx.path(),
                    expected: format!("the outputs of a join of {}", ws.len()),
                    detail: format!("{} outputs", parts.len()),
                });
            }
            let mut out = Vec::with_capacity(ws.len());
            for (i, (w, part)) in ws.iter().zip(&parts).enumerate() {
                out.push(cx.at(Seg::Index(i), || output(w, part, cx))?);
            }
            Ok(Value::Array(out))
        }
        WaitShape::JoinAll(w) => {
            let mut out = Vec::new();
            for (i, part) in parts(blob, cx)?.iter().enumerate() {
                out.push(cx.at(Seg::Index(i), || output(w, part, cx))?);
            }
            Ok(Value::Array(out))
        }
        WaitShape::Continue => Err(InspectError::NotStored {
            path: cx.path(),
            what: "a `continue_as_new` wait yields no value".into(),
        }),
    }
}

/// A join's output: a blob of each branch's output blob.
fn parts(blob: &[u8], cx: &Cx<'_>) -> Result<Vec<Vec<u8>>, InspectError> {
    codec::decode::<Vec<Vec<u8>>>(blob).map_err(|source| InspectError::Blob {
        path: cx.path(),
        source,
    })
}

/// What a signal wait with a timeout yields: `Result<T, SignalTimeout>`.
pub(super) fn timeout_result(payload: &Shape) -> Result<Shape, InspectError> {
    let timeout =
        crate::shape::shape_of::<SignalTimeout>().map_err(|detail| InspectError::Malformed {
            path: ".".into(),
            expected: "`SignalTimeout`".into(),
            detail,
        })?;
    let variant = |index: u32, name: &str, shape: Shape| Variant {
        index,
        name: name.into(),
        fields: VariantFields::Newtype(Box::new(shape)),
    };
    Ok(Shape::Enum {
        name: "Result".into(),
        variants: vec![
            variant(0, "Ok", payload.clone()),
            variant(1, "Err", timeout),
        ],
    })
}

/// The stored pair.
struct StoredV<'c, 's> {
    workflow: &'s WorkflowShape,
    cx: &'c Cx<'s>,
}

impl<'de> Visitor<'de> for StoredV<'_, '_> {
    type Value = (WorkflowContext, StateView);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a stored instance state")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let cx = self.cx;
        cx.enter_record("the shared context")
            .map_err(|e| cx.raise(e))?;
        let ctx = cx.at(Seg::field("context"), || {
            element(&mut seq, PhantomData::<WorkflowContext>)
        })?;
        cx.leave();
        let workflow = self.workflow;
        let state = element(&mut seq, StateSeed { workflow, cx })?;
        Ok((ctx, state))
    }
}

/// A state of `workflow`.
struct StateSeed<'c, 's> {
    workflow: &'s WorkflowShape,
    cx: &'c Cx<'s>,
}

impl<'de> DeserializeSeed<'de> for StateSeed<'_, '_> {
    type Value = StateView;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<StateView, D::Error> {
        let cx = self.cx;
        cx.enter_record("a state").map_err(|e| cx.raise(e))?;
        // As the generated `Deserialize` asks: the longest state's length.
        let longest = self
            .workflow
            .states
            .iter()
            .map(|s| 1 + s.fields.len() + usize::from(s.wait.is_some()))
            .max()
            .unwrap_or(1);
        let view = d.deserialize_tuple(longest, StateV(self))?;
        cx.leave();
        Ok(view)
    }
}

struct StateV<'c, 's>(StateSeed<'c, 's>);

impl<'de> Visitor<'de> for StateV<'_, '_> {
    type Value = StateView;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a state of workflow `{}`", self.0.workflow.name)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StateView, A::Error> {
        let StateSeed { workflow, cx } = self.0;
        let state = cx.at(Seg::field("state_id"), || {
            let index: u32 = element(&mut seq, PhantomData::<u32>)?;
            let state = usize::try_from(index)
                .ok()
                .and_then(|i| workflow.states.get(i));
            state.ok_or_else(|| {
                cx.raise(InspectError::UnknownState {
                    path: cx.path(),
                    workflow: workflow.name.clone(),
                    index,
                    count: workflow.states.len(),
                })
            })
        })?;
        let mut fields = Vec::with_capacity(state.fields.len());
        for field in &state.fields {
            let shape = &field.ty.shape;
            let value = cx.at_all([Seg::field("fields"), Seg::field(&field.name)], || {
                element(&mut seq, Val { shape, cx })
            })?;
            fields.push((field.name.clone(), value));
        }
        let wait = match &state.wait {
            Some(wait) => Some(cx.at(Seg::field("wait"), || {
                element(&mut seq, WaitSeed { wait, workflow, cx })
            })?),
            None => None,
        };
        Ok(StateView {
            state_id: state.id.clone(),
            variant: state.variant.clone(),
            fields,
            wait,
            context: Vec::new(),
        })
    }
}

/// A wait of a state of `workflow`.
struct WaitSeed<'c, 's> {
    wait: &'s WaitShape,
    workflow: &'s WorkflowShape,
    cx: &'c Cx<'s>,
}

impl<'de> DeserializeSeed<'de> for WaitSeed<'_, '_> {
    type Value = WaitView;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<WaitView, D::Error> {
        let WaitSeed { wait, workflow, cx } = self;
        cx.enter_record(record(wait)).map_err(|e| cx.raise(e))?;
        let view = match wait {
            WaitShape::Task(task) => {
                let raw = RawTask::deserialize(d)?;
                let args = cx
                    .at_all([Seg::field("task"), Seg::field("args")], || {
                        args(task, &raw.args, cx)
                    })
                    .map_err(|e| cx.raise(e))?;
                WaitView::Task {
                    task: task.name.clone(),
                    attempt: raw.attempt,
                    origin: raw.origin,
                    not_before: raw.not_before,
                    deadline: raw.deadline,
                    args,
                }
            }
            WaitShape::Child(child) => {
                let state = d.deserialize_tuple(1, ChildV { child, cx })?;
                WaitView::Child {
                    workflow: child.name.clone(),
                    state: Box::new(state),
                }
            }
            WaitShape::Join(waits) => WaitView::Join {
                branches: d.deserialize_tuple(
                    waits.len(),
                    JoinV {
                        waits,
                        workflow,
                        cx,
                    },
                )?,
            },
            WaitShape::JoinAll(wait) => WaitView::JoinAll {
                branches: d.deserialize_seq(JoinAllV { wait, workflow, cx })?,
            },
            WaitShape::Timer => WaitView::Timer {
                due: RawTimer::deserialize(d)?.due,
            },
            WaitShape::Signal {
                payload,
                timeout: false,
            } => WaitView::Signal {
                name: RawSignal::deserialize(d)?.name,
                payload_type: payload.rust.clone(),
                deadline: None,
                timeout: None,
            },
            WaitShape::Signal {
                payload,
                timeout: true,
            } => {
                let raw = RawSignalTimeout::deserialize(d)?;
                WaitView::Signal {
                    name: raw.name,
                    payload_type: payload.rust.clone(),
                    deadline: Some(raw.deadline),
                    timeout: Some(raw.after),
                }
            }
            WaitShape::Continue => {
                let raw = RawContinue::deserialize(d)?;
                let next = cx
                    .at_all([Seg::field("continue_as_new"), Seg::field("next")], || {
                        start_state(workflow, &raw.input, cx)
                    })
                    .map_err(|e| cx.raise(e))?;
                WaitView::ContinueAsNew {
                    next: Box::new(next),
                }
            }
        };
        cx.leave();
        Ok(view)
    }
}

/// The runtime record a wait is stored as, for messages.
fn record(wait: &WaitShape) -> &'static str {
    match wait {
        WaitShape::Task(_) => "a task call (`TaskWait`)",
        WaitShape::Child(_) => "a child workflow (`ChildWait`)",
        WaitShape::Join(_) => "a join",
        WaitShape::JoinAll(_) => "a `join_all`",
        WaitShape::Timer => "a timer (`TimerWait`)",
        WaitShape::Signal { timeout: false, .. } => "a signal wait (`SignalWait`)",
        WaitShape::Signal { timeout: true, .. } => "a signal wait (`SignalTimeoutWait`)",
        WaitShape::Continue => "a `continue_as_new` (`ContinueWait`)",
    }
}

/// `ChildWait { state }`: the child's state.
struct ChildV<'c, 's> {
    child: &'s WorkflowShape,
    cx: &'c Cx<'s>,
}

impl<'de> Visitor<'de> for ChildV<'_, '_> {
    type Value = StateView;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a child workflow's wait")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StateView, A::Error> {
        let ChildV { child, cx } = self;
        cx.at_all([Seg::field("child"), Seg::field("state")], || {
            element(
                &mut seq,
                StateSeed {
                    workflow: child,
                    cx,
                },
            )
        })
    }
}

/// `Join2`..`Join8`: a tuple of branches.
struct JoinV<'c, 's> {
    waits: &'s [WaitShape],
    workflow: &'s WorkflowShape,
    cx: &'c Cx<'s>,
}

impl<'de> Visitor<'de> for JoinV<'_, '_> {
    type Value = Vec<BranchView>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a join of {}", self.waits.len())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<BranchView>, A::Error> {
        let JoinV {
            waits,
            workflow,
            cx,
        } = self;
        let mut out = Vec::with_capacity(waits.len());
        for (i, wait) in waits.iter().enumerate() {
            let seed = BranchSeed { wait, workflow, cx };
            let segs = [Seg::field("join"), Seg::field("branches"), Seg::Index(i)];
            out.push(cx.at_all(segs, || element(&mut seq, seed))?);
        }
        Ok(out)
    }
}

/// `JoinAll`: a sequence of branches.
struct JoinAllV<'c, 's> {
    wait: &'s WaitShape,
    workflow: &'s WorkflowShape,
    cx: &'c Cx<'s>,
}

impl<'de> Visitor<'de> for JoinAllV<'_, '_> {
    type Value = Vec<BranchView>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a join_all")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<BranchView>, A::Error> {
        let JoinAllV { wait, workflow, cx } = self;
        let mut out = Vec::new();
        for i in 0.. {
            let seed = BranchSeed { wait, workflow, cx };
            let segs = [
                Seg::field("join_all"),
                Seg::field("branches"),
                Seg::Index(i),
            ];
            match cx.at_all(segs, || seq.next_element_seed(seed))? {
                Some(branch) => out.push(branch),
                None => break,
            }
        }
        Ok(out)
    }
}

/// A `Branch`: `Pending(wait)` (0) or `Done(output blob)` (1).
struct BranchSeed<'c, 's> {
    wait: &'s WaitShape,
    workflow: &'s WorkflowShape,
    cx: &'c Cx<'s>,
}

impl<'de> DeserializeSeed<'de> for BranchSeed<'_, '_> {
    type Value = BranchView;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<BranchView, D::Error> {
        let cx = self.cx;
        cx.enter_record("a join branch").map_err(|e| cx.raise(e))?;
        let view = d.deserialize_enum("", &[], self)?;
        cx.leave();
        Ok(view)
    }
}

impl<'de> Visitor<'de> for BranchSeed<'_, '_> {
    type Value = BranchView;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a join branch")
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<BranchView, A::Error> {
        let BranchSeed { wait, workflow, cx } = self;
        let (index, access) = data.variant_seed(Index)?;
        match index {
            0 => cx.at(Seg::field("pending"), || {
                access
                    .newtype_variant_seed(WaitSeed { wait, workflow, cx })
                    .map(BranchView::Pending)
            }),
            1 => {
                let blob: Vec<u8> = access.newtype_variant()?;
                cx.at(Seg::field("done"), || output(wait, &blob, cx))
                    .map(BranchView::Done)
                    .map_err(|e| cx.raise(e))
            }
            _ => Err(cx.raise(InspectError::UnknownVariantIndex {
                path: cx.path(),
                name: "Branch".into(),
                index,
                count: 2,
            })),
        }
    }
}
