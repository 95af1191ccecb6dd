//! What a workflow definition stores, state by state, with the traced [`Shape`] of every stored
//! type: its inputs and output, each state's stable identity and carried fields, and what each
//! state waits for (task arguments and output, signal payloads, child workflows, joins), and
//! where the workflow can go from each state ([`Transitions`], for people and tools: no part of
//! any fingerprint).
//!
//! Generated code builds a [`WorkflowShape`] through [`Describe`] when a workflow is registered.
//! Its [`fingerprint`](WorkflowShape::fingerprint) enters the instance's identity, it is saved
//! in the store (so a later binary can say what changed), written to the lock file, and
//! compared state by state when a newer version takes instances over.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::machine::{Task, Workflow};
use crate::resources::ResourceNeed;
use crate::shape::{self, Canon, Placeholders, Shape, TraceError, TraceSeq};

mod changes;
mod stored;

pub use changes::{state_changes, workflow_changes};

/// A stored type: its Rust name (for people; not part of any fingerprint) and its shape.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypeShape {
    /// `std::any::type_name` of the type when it was traced.
    pub rust: String,
    /// Its structure.
    pub shape: Shape,
}

/// A named stored value: a workflow input, a carried field, a task argument.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldShape {
    /// Its name.
    pub name: String,
    /// Its type.
    pub ty: TypeShape,
}

/// A task as a state stores its calls: arguments (encoded in the state) and output (encoded in
/// join branches and history).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskShape {
    /// Task name.
    pub name: String,
    /// Arguments, in order.
    pub args: Vec<FieldShape>,
    /// Return type.
    pub output: TypeShape,
    /// The resources the task takes (its `Res<T>` parameters). Not stored: no part of the
    /// fingerprint, the lock file or the saved description (empty when read back).
    #[serde(skip)]
    pub resources: Vec<ResourceNeed>,
}

/// A resource a task of a workflow takes (see [`WorkflowShape::resource_uses`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceUse {
    /// The child workflows the task is reached through, outermost first (empty for a task
    /// the workflow calls itself).
    pub via: Vec<String>,
    /// The task.
    pub task: String,
    /// The resource.
    pub need: ResourceNeed,
}

/// What a state waits for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum WaitShape {
    /// A task call.
    Task(TaskShape),
    /// A child workflow (its whole state nests in the parent's).
    Child(Box<WorkflowShape>),
    /// `join!` / `try_join!`: one wait per branch.
    Join(Vec<WaitShape>),
    /// `join_all` / `try_join_all` of calls of one kind.
    JoinAll(Box<WaitShape>),
    /// A durable timer.
    Timer,
    /// A signal with this payload type.
    Signal {
        /// Payload type.
        payload: TypeShape,
        /// Whether the wait has a deadline (`.timeout(d)`).
        timeout: bool,
    },
    /// `continue_as_new`.
    Continue,
}

/// One state of a workflow.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateShape {
    /// Stable identity: `start`, the awaited callee and its occurrence (`charge#1`), or the
    /// label of `#[sayiir::state("..")]`.
    pub id: String,
    /// Variant name in the generated state enum (changes when awaits are added elsewhere).
    pub variant: String,
    /// Carried fields, in stored order.
    pub fields: Vec<FieldShape>,
    /// What it waits for (`None` for the start state).
    pub wait: Option<WaitShape>,
    /// Where the workflow can go from this state, as the workflow macro reads its control
    /// flow; `None` when the description does not say (a description stored by a build from
    /// before transitions were recorded, or written by hand). No part of any fingerprint, the
    /// serde encoding or the lock file; stored after the description (see
    /// [`WorkflowShape::encode`]).
    #[serde(skip)]
    pub next: Option<Transitions>,
}

/// Where a workflow can go from a state: what its next transition can do.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transitions {
    /// Stable ids of the states the next transition can suspend at, in state order: every
    /// branch, loop and early exit of the code after this state's wait (the start state's: the
    /// first waits). A `continue_as_new` state's is `start`: the next run begins there.
    pub states: Vec<String>,
    /// Whether the next transition can finish the workflow (`return`, `?`, the body's end).
    pub ends: bool,
}

/// One workflow version as its instances store it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowShape {
    /// Workflow name.
    pub name: String,
    /// Declared version.
    pub version: u32,
    /// Definition hash, in hex.
    pub hash: String,
    /// Inputs (the parameters), in order.
    pub inputs: Vec<FieldShape>,
    /// Output type.
    pub output: TypeShape,
    /// States, the start state first, in the order of the state enum.
    pub states: Vec<StateShape>,
}

/// Format version of the canonical encoding fingerprints are computed over.
const DEFINITION_FORMAT: u32 = 1;

impl WorkflowShape {
    /// An empty description; generated code fills it.
    pub fn new(name: &str, version: u32, hash: &[u8; 32]) -> Self {
        Self {
            name: name.to_string(),
            version,
            hash: hex(hash),
            inputs: Vec::new(),
            output: TypeShape {
                rust: "()".into(),
                shape: Shape::Unit,
            },
            states: Vec::new(),
        }
    }

    /// Adds an input.
    pub fn input(&mut self, name: &str, ty: TypeShape) {
        self.inputs.push(FieldShape {
            name: name.into(),
            ty,
        });
    }

    /// Sets the output type.
    pub fn output(&mut self, ty: TypeShape) {
        self.output = ty;
    }

    /// Starts the next state.
    pub fn state(&mut self, variant: &str, id: &str) {
        self.states.push(StateShape {
            id: id.into(),
            variant: variant.into(),
            fields: Vec::new(),
            wait: None,
            next: None,
        });
    }

    /// Adds a carried field to the last state.
    pub fn field(&mut self, name: &str, ty: TypeShape) {
        if let Some(s) = self.states.last_mut() {
            s.fields.push(FieldShape {
                name: name.into(),
                ty,
            });
        }
    }

    /// Sets what the last state waits for.
    pub fn wait(&mut self, wait: WaitShape) {
        if let Some(s) = self.states.last_mut() {
            s.wait = Some(wait);
        }
    }

    /// Sets where the workflow can go from the last state (see [`Transitions`]).
    pub fn next(&mut self, states: &[&str], ends: bool) {
        if let Some(s) = self.states.last_mut() {
            s.next = Some(Transitions {
                states: states.iter().map(|&s| s.to_string()).collect(),
                ends,
            });
        }
    }

    /// The transitions of every state, in state order, when the description has them all.
    pub fn transitions(&self) -> Option<Vec<&Transitions>> {
        if self.states.is_empty() {
            return None;
        }
        self.states.iter().map(|s| s.next.as_ref()).collect()
    }

    /// The state with stable identity `id`.
    pub fn state_by_id(&self, id: &str) -> Option<&StateShape> {
        self.states.iter().find(|s| s.id == id)
    }

    /// The first task named `name` that this workflow or one of its child workflows calls, in
    /// state order (joins and children included): the shapes of its arguments and return
    /// value, to read its calls and its outputs in the history
    /// ([`task_output_to_json`](crate::inspect::task_output_to_json)).
    pub fn find_task(&self, name: &str) -> Option<&TaskShape> {
        self.states
            .iter()
            .filter_map(|s| s.wait.as_ref())
            .find_map(|w| task_in(w, name))
    }

    /// The payload types of the signals this workflow and its child workflows wait for, each
    /// distinct type once, in state order. A description holds no signal names (a signal wait
    /// is described by its payload type and whether it has a timeout), so which name a payload
    /// goes with is not known from here; a workflow whose signals all carry one type has one
    /// entry.
    pub fn signal_payloads(&self) -> Vec<&TypeShape> {
        let mut out = Vec::new();
        payloads_in(self, &mut out);
        out
    }

    /// Every resource the tasks of this workflow and of its child workflows take, once per
    /// task and resource type, in state order.
    pub fn resource_uses(&self) -> Vec<ResourceUse> {
        let mut out = Vec::new();
        uses_in(self, &mut Vec::new(), &mut out);
        out
    }

    /// The structural fingerprint: blake3 over the canonical encoding of every stored type at
    /// its place (inputs, output, each state's fields and wait), with field and state names.
    /// Rust type names and container names do not enter it.
    pub fn fingerprint(&self) -> [u8; 32] {
        let mut c = Canon::new("sayiir/definition-shape", DEFINITION_FORMAT);
        self.canon(&mut c);
        c.finish()
    }

    fn canon(&self, c: &mut Canon) {
        fields(c, &self.inputs);
        ty(c, &self.output);
        c.len(self.states.len());
        for s in &self.states {
            c.str(&s.id);
            fields(c, &s.fields);
            match &s.wait {
                None => c.tag(0),
                Some(w) => {
                    c.tag(1);
                    wait(c, w);
                }
            }
        }
    }
}

impl StateShape {
    /// The fingerprint of what this state stores: its fields and its wait.
    pub fn fingerprint(&self) -> [u8; 32] {
        let mut c = Canon::new("sayiir/state-shape", DEFINITION_FORMAT);
        fields(&mut c, &self.fields);
        match &self.wait {
            None => c.tag(0),
            Some(w) => {
                c.tag(1);
                wait(&mut c, w);
            }
        }
        c.finish()
    }
}

impl WaitShape {
    /// The fingerprint of what this wait stores.
    pub fn fingerprint(&self) -> [u8; 32] {
        let mut c = Canon::new("sayiir/wait-shape", DEFINITION_FORMAT);
        wait(&mut c, self);
        c.finish()
    }
}

fn task_in<'a>(w: &'a WaitShape, name: &str) -> Option<&'a TaskShape> {
    match w {
        WaitShape::Task(t) => (t.name == name).then_some(t),
        WaitShape::Child(d) => d.find_task(name),
        WaitShape::Join(ws) => ws.iter().find_map(|w| task_in(w, name)),
        WaitShape::JoinAll(w) => task_in(w, name),
        WaitShape::Timer | WaitShape::Signal { .. } | WaitShape::Continue => None,
    }
}

fn payloads_in<'a>(w: &'a WorkflowShape, out: &mut Vec<&'a TypeShape>) {
    for s in &w.states {
        if let Some(wait) = &s.wait {
            payloads_of_wait(wait, out);
        }
    }
}

fn payloads_of_wait<'a>(w: &'a WaitShape, out: &mut Vec<&'a TypeShape>) {
    match w {
        WaitShape::Signal { payload, .. } => {
            if !out.contains(&payload) {
                out.push(payload);
            }
        }
        WaitShape::Child(d) => payloads_in(d, out),
        WaitShape::Join(ws) => ws.iter().for_each(|w| payloads_of_wait(w, out)),
        WaitShape::JoinAll(w) => payloads_of_wait(w, out),
        WaitShape::Task(_) | WaitShape::Timer | WaitShape::Continue => {}
    }
}

fn uses_in(w: &WorkflowShape, via: &mut Vec<String>, out: &mut Vec<ResourceUse>) {
    for s in &w.states {
        if let Some(wait) = &s.wait {
            uses_of_wait(wait, via, out);
        }
    }
}

fn uses_of_wait(w: &WaitShape, via: &mut Vec<String>, out: &mut Vec<ResourceUse>) {
    match w {
        WaitShape::Task(t) => {
            for need in &t.resources {
                let seen = out
                    .iter()
                    .any(|u| u.via == *via && u.task == t.name && u.need.type_id == need.type_id);
                if !seen {
                    out.push(ResourceUse {
                        via: via.clone(),
                        task: t.name.clone(),
                        need: *need,
                    });
                }
            }
        }
        WaitShape::Child(d) => {
            via.push(d.name.clone());
            uses_in(d, via, out);
            via.pop();
        }
        WaitShape::Join(ws) => {
            for w in ws {
                uses_of_wait(w, via, out);
            }
        }
        WaitShape::JoinAll(w) => uses_of_wait(w, via, out),
        WaitShape::Timer | WaitShape::Signal { .. } | WaitShape::Continue => {}
    }
}

fn ty(c: &mut Canon, t: &TypeShape) {
    t.shape.canon(c, &mut Vec::new());
}

fn fields(c: &mut Canon, fs: &[FieldShape]) {
    c.len(fs.len());
    for f in fs {
        c.str(&f.name);
        ty(c, &f.ty);
    }
}

fn wait(c: &mut Canon, w: &WaitShape) {
    match w {
        WaitShape::Task(t) => {
            c.tag(1);
            c.str(&t.name);
            fields(c, &t.args);
            ty(c, &t.output);
        }
        WaitShape::Child(d) => {
            c.tag(2);
            c.str(&d.name);
            c.u32(d.version);
            d.canon(c);
        }
        WaitShape::Join(ws) => {
            c.tag(3);
            c.len(ws.len());
            for w in ws {
                wait(c, w);
            }
        }
        WaitShape::JoinAll(w) => {
            c.tag(4);
            wait(c, w);
        }
        WaitShape::Timer => c.tag(5),
        WaitShape::Signal { payload, timeout } => {
            c.tag(6);
            c.tag(u8::from(*timeout));
            ty(c, payload);
        }
        WaitShape::Continue => c.tag(7),
    }
}

/// Lower-case hex of bytes.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Traces the stored types of workflows, tasks and waits into shapes, collecting what cannot be
/// traced (with where it is used) instead of stopping at the first.
pub struct Describe<'a> {
    placeholders: &'a Placeholders,
    /// Where we are: the workflow (and child workflows) being described.
    path: Vec<String>,
    errors: Vec<String>,
}

impl std::fmt::Debug for Describe<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Describe")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl<'a> Describe<'a> {
    pub(crate) fn new(placeholders: &'a Placeholders) -> Self {
        Self {
            placeholders,
            path: Vec::new(),
            errors: Vec::new(),
        }
    }

    /// The shape of `T`, stored at `place` (e.g. "state `charge#1` field `order`"). A type that
    /// cannot be traced is recorded as an error and given a placeholder shape.
    pub fn ty<T: DeserializeOwned>(&mut self, place: &str) -> TypeShape {
        let rust = std::any::type_name::<T>().to_string();
        match shape::trace::<T>(self.placeholders) {
            Ok(shape) => TypeShape { rust, shape },
            Err(why) => {
                let at = self.path.join(", ");
                self.errors.push(format!(
                    "{at}: {place}: cannot trace the structure of `{rust}`: {why}"
                ));
                TypeShape {
                    rust,
                    shape: Shape::Unit,
                }
            }
        }
    }

    /// The shape of the value `read` reads (generated code reads it with
    /// `__private::de_field`, naming its type), stored at `place`.
    pub fn traced(
        &mut self,
        place: &str,
        read: &mut dyn FnMut(&mut TraceSeq<'_, '_>) -> Result<(), TraceError>,
    ) -> TypeShape {
        match shape::trace_seq(self.placeholders, read) {
            Ok((shape, rust)) => TypeShape {
                rust: rust.to_string(),
                shape,
            },
            Err((why, rust)) => {
                let at = self.path.join(", ");
                self.errors.push(format!(
                    "{at}: {place}: cannot trace the structure of `{rust}`: {why}"
                ));
                TypeShape {
                    rust: rust.to_string(),
                    shape: Shape::Unit,
                }
            }
        }
    }

    /// Describes workflow `W` (a child, or one being registered).
    pub fn workflow<W: Workflow>(&mut self) -> WorkflowShape {
        self.path
            .push(format!("workflow `{}` version {}", W::NAME, W::VERSION));
        let shape = W::describe(self);
        self.path.pop();
        shape
    }

    /// Describes task `T`.
    pub fn task<T: Task>(&mut self) -> TaskShape {
        self.path.push(format!("task `{}`", T::NAME));
        let mut shape = T::describe(self);
        self.path.pop();
        shape.resources = T::resources();
        shape
    }

    /// Describes what the wait of the state at `place` stores (`describe` calls its wait type's
    /// `DescribeWait::describe`).
    pub fn at(
        &mut self,
        place: &str,
        describe: &mut dyn FnMut(&mut Describe<'a>) -> WaitShape,
    ) -> WaitShape {
        self.path.push(place.to_string());
        let shape = describe(self);
        self.path.pop();
        shape
    }

    /// What could not be traced, one line each.
    pub(crate) fn into_errors(self) -> Vec<String> {
        self.errors
    }
}

impl TaskShape {
    /// A task without arguments returning `()`; generated code fills it.
    pub fn new(name: &str) -> Self {
        Self {
            name: name.into(),
            args: Vec::new(),
            output: TypeShape {
                rust: "()".into(),
                shape: Shape::Unit,
            },
            resources: Vec::new(),
        }
    }

    /// Adds an argument.
    #[must_use]
    pub fn arg(mut self, name: &str, ty: TypeShape) -> Self {
        self.args.push(FieldShape {
            name: name.into(),
            ty,
        });
        self
    }

    /// Sets the return type.
    #[must_use]
    pub fn returns(mut self, ty: TypeShape) -> Self {
        self.output = ty;
        self
    }
}

#[cfg(test)]
#[path = "describe/tests.rs"]
mod tests;
