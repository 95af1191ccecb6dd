//! The commands of `sayiir-cli` mounted in an application's own binary, with its workflows
//! registered: `signal` checks payloads against their Rust types.
//!
//! ```text
//! SAYIIR_STORE=sqlite://app.db cargo run -p sayiir-cli --example embedded -- list
//! SAYIIR_STORE=sqlite://app.db cargo run -p sayiir-cli --example embedded -- \
//!     signal order-1 approve '{"by": "ada"}'
//! ```
//!
//! The tests run it against stores the same workflows (`flows.rs`) populated.

use std::process::ExitCode;

mod flows;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let Some(url) = std::env::var("SAYIIR_STORE").ok() else {
        eprintln!("error: set SAYIIR_STORE to the application's store URL");
        return ExitCode::from(sayiir_cli::exit::USAGE);
    };
    let store = match sayiir_cli::open_store(&url).await {
        Ok(store) => store,
        Err(e) => {
            eprintln!("error: {}", e.line());
            return ExitCode::from(e.exit_code());
        }
    };
    let engine = match flows::register(sayiir::Engine::builder_shared(store)).build() {
        Ok(engine) => engine,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    sayiir_cli::run(&engine).await
}
