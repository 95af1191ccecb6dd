//! `sayiir signal`: a signal with a JSON payload.

use std::io::Read;

use sayiir::Engine;
use serde::Serialize;

use crate::args::SignalArgs;
use crate::error::{CliError, parse_id};
use crate::output::{Output, clean};

#[derive(Serialize)]
struct SentView {
    id: String,
    signal: String,
    sent: bool,
}

/// The payload's text: the argument, the file, or stdin (`--file -`).
fn payload_text(args: &SignalArgs) -> Result<String, CliError> {
    match (&args.payload, &args.file) {
        (Some(text), _) => Ok(text.clone()),
        (None, Some(path)) if path.as_os_str() == "-" => {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text).map_err(|e| {
                CliError::BadInput(format!("cannot read the payload from stdin: {e}"))
            })?;
            Ok(text)
        }
        (None, Some(path)) => std::fs::read_to_string(path).map_err(|e| {
            CliError::BadInput(format!(
                "cannot read the payload file `{}`: {e}",
                path.display()
            ))
        }),
        (None, None) => Err(CliError::Usage(
            "give the payload as JSON, or --file PATH".into(),
        )),
    }
}

pub(crate) async fn run(engine: &Engine, args: &SignalArgs, out: &Output) -> Result<(), CliError> {
    let id = parse_id(&args.id)?;
    let text = payload_text(args)?;
    let payload: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| CliError::BadInput(format!("the payload is not valid JSON: {e}")))?;
    engine.signal_json(&id, &args.name, &payload).await?;
    if out.is_json() {
        return out.json(&SentView {
            id: id.to_string(),
            signal: args.name.clone(),
            sent: true,
        });
    }
    out.text(&format!(
        "sent signal `{}` to `{}`\n",
        clean(&args.name),
        clean(id.as_str())
    ))
}
