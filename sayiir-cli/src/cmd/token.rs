//! `sayiir token new`: a new random token, printed once, and its entry for the token file of
//! `sayiir serve --tokens FILE` (its SHA-256 only).

use sayiir_server::{Role, Tokens};
use serde::Serialize;

use crate::args::TokenCommand;
use crate::error::CliError;
use crate::output::Output;

#[derive(Serialize)]
struct NewView {
    token: String,
    entry: serde_json::Value,
}

pub(crate) fn run(command: &TokenCommand, out: &Output) -> Result<(), CliError> {
    match command {
        TokenCommand::New {
            name,
            role,
            namespaces,
        } => {
            if name.is_empty() {
                return Err(CliError::BadInput("--name must not be empty".into()));
            }
            let role = Role::from_name(role).ok_or_else(|| {
                CliError::BadInput(format!("unknown role `{role}` (viewer, operator, admin)"))
            })?;
            let token = Tokens::generate()
                .map_err(|e| CliError::Failed(format!("no randomness from the system: {e}")))?;
            let namespaces = (!namespaces.is_empty()).then(|| namespaces.clone());
            let entry = Tokens::entry_json(name, role, namespaces, &token);
            if out.is_json() {
                return out.json(&NewView { token, entry });
            }
            out.text(&format!(
                "token (shown once; give it to `{name}`, it is kept nowhere):\n  {token}\n\
                 entry for the token file (a JSON array of these):\n  {entry}\n"
            ))
        }
    }
}
