//! Stored bytes of an instance as JSON, for people: through the registered workflow's own
//! types where this engine registered the instance's definition (signal payloads by their
//! Rust type, everything else by the description traced from those types), else through the
//! description the registering binary saved in the store, else not at all (sizes only, with
//! the reason).

use std::sync::Arc;

use serde::Serialize;

use crate::describe::WorkflowShape;
use crate::inspect;
use crate::machine::SignalSet;

/// Where the JSON shown for an instance comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "source", content = "detail")]
#[non_exhaustive]
pub enum DecodedBy {
    /// This engine registered the instance's definition: its own types (signal payloads are
    /// read as their Rust type; stored values by the description traced from the types).
    Registered,
    /// The description of the definition the registering binary saved in the store (this
    /// engine does not register it, e.g. the standalone command line).
    StoredDescription,
    /// Nothing to decode with: values are shown as sizes. Says why.
    Nothing(String),
}

/// Decodes one instance's stored bytes.
pub(crate) struct Decoder {
    shape: Option<Arc<WorkflowShape>>,
    signals: Option<SignalSet>,
    by: DecodedBy,
}

impl Decoder {
    /// A decoder with a registered workflow's signal types and description.
    pub(crate) fn registered(signals: SignalSet, shape: Arc<WorkflowShape>) -> Self {
        Self {
            shape: Some(shape),
            signals: Some(signals),
            by: DecodedBy::Registered,
        }
    }

    /// A decoder with a description read from the store.
    pub(crate) fn stored(shape: Arc<WorkflowShape>) -> Self {
        Self {
            shape: Some(shape),
            signals: None,
            by: DecodedBy::StoredDescription,
        }
    }

    /// No description: everything is shown as sizes, with `why`.
    pub(crate) fn nothing(why: String) -> Self {
        Self {
            shape: None,
            signals: None,
            by: DecodedBy::Nothing(why),
        }
    }

    pub(crate) fn by(&self) -> &DecodedBy {
        &self.by
    }

    fn need_shape(&self) -> Result<&WorkflowShape, String> {
        match (&self.shape, &self.by) {
            (Some(s), _) => Ok(s),
            (None, DecodedBy::Nothing(why)) => Err(why.clone()),
            (None, _) => Err("no description of the instance's definition".into()),
        }
    }

    /// The input entry (`started`): the inputs by name.
    pub(crate) fn input(&self, blob: &[u8]) -> Result<serde_json::Value, String> {
        let shape = self.need_shape()?;
        let fields = inspect::input_to_json(shape, blob).map_err(|e| e.to_string())?;
        Ok(serde_json::Value::Object(fields.into_iter().collect()))
    }

    /// A task's stored output (`Ok`/`Err` of a `Result` as `{"Ok": ..}` / `{"Err": ..}`).
    pub(crate) fn task_output(
        &self,
        task: &str,
        bytes: &[u8],
    ) -> Result<serde_json::Value, String> {
        let shape = self.need_shape()?;
        let Some(t) = shape.find_task(task) else {
            return Err(format!("task `{task}` is not in the description"));
        };
        inspect::task_output_to_json(t, bytes).map_err(|e| e.to_string())
    }

    /// A signal's payload: by the Rust type the workflow declares for the name when it is
    /// registered; else by the payload shapes of the description's signal waits (the name is
    /// not in a description: the first shape the bytes decode by, when only one does).
    pub(crate) fn signal_payload(
        &self,
        name: &str,
        bytes: &[u8],
    ) -> Result<serde_json::Value, String> {
        if let Some(set) = &self.signals {
            let mut last = format!("the workflow declares no signal `{name}`");
            for d in set.of(name) {
                match (d.to_json)(bytes) {
                    Ok(v) => return Ok(v),
                    Err(e) => last = format!("payload of `{name}` ({}): {e}", d.type_name),
                }
            }
            return Err(last);
        }
        let shape = self.need_shape()?;
        let decoded: Vec<serde_json::Value> = shape
            .signal_payloads()
            .into_iter()
            .filter_map(|t| inspect::to_json(&t.shape, bytes).ok())
            .collect();
        match decoded.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(format!(
                "the payload of `{name}` matches no signal payload type of the description"
            )),
            _ => Err(format!(
                "the payload of `{name}` matches several signal payload types of the \
                 description (a description does not name its signals)"
            )),
        }
    }

    /// A finished instance's output.
    pub(crate) fn output(&self, bytes: &[u8]) -> Result<serde_json::Value, String> {
        let shape = self.need_shape()?;
        inspect::to_json(&shape.output.shape, bytes).map_err(|e| e.to_string())
    }

    /// A running instance's state blob.
    pub(crate) fn state(&self, blob: &[u8]) -> Result<inspect::StateView, String> {
        let shape = self.need_shape()?;
        inspect::state_to_json(shape, blob).map_err(|e| e.to_string())
    }
}
