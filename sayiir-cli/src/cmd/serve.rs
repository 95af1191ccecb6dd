//! `sayiir serve`: the HTTP API (`sayiir_server::router`) on an address, until Ctrl-C.

use std::path::Path;

use sayiir::Engine;
use sayiir_server::Tokens;
use serde::Serialize;

use crate::error::CliError;
use crate::output::Output;

#[derive(Serialize)]
struct ListeningView {
    /// The address listened on (the port chosen when `--listen` gave 0).
    listening: String,
    /// Where the API is.
    api: String,
}

pub(crate) async fn run(
    engine: &Engine,
    listen: &str,
    tokens: Option<&Path>,
    out: &Output,
) -> Result<(), CliError> {
    let Some(path) = tokens else {
        return Err(CliError::Usage(
            "no tokens: give --tokens FILE (or set SAYIIR_TOKENS); make one with `sayiir token new`"
                .into(),
        ));
    };
    let tokens = Tokens::load(path).map_err(|e| CliError::BadInput(e.to_string()))?;
    if tokens.is_empty() {
        return Err(CliError::BadInput(format!(
            "the token file `{}` configures no token: the API would refuse every request",
            path.display()
        )));
    }
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|source| CliError::Io {
            context: format!("cannot listen on `{listen}`"),
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| CliError::Io {
        context: format!("cannot read the address listened on (`{listen}`)"),
        source,
    })?;
    let view = ListeningView {
        listening: addr.to_string(),
        api: format!("http://{addr}/api/v1"),
    };
    if out.is_json() {
        out.json(&view)?;
    } else {
        out.text(&format!("listening on {}\n", view.api))?;
    }
    axum::serve(listener, sayiir_server::router(engine.clone(), tokens))
        .with_graceful_shutdown(async {
            // Without a handler (it cannot be installed), only the process's end stops it.
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        })
        .await
        .map_err(|source| CliError::Io {
            context: "the server stopped".into(),
            source,
        })
}
