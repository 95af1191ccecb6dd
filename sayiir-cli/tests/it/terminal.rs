//! Colour: only when stdout is a terminal (here a pseudo-terminal made by util-linux's
//! `script`) and `NO_COLOR` is unset; never with `--json`.

use std::process::Command;

use tempfile::TempDir;

use crate::common::sqlite_store;

/// Runs `sayiir <args>` on a pseudo-terminal; its output.
fn on_a_terminal(url: &str, args: &str, no_color: bool) -> String {
    let mut script = Command::new("script");
    script
        .args(["-qec"])
        .arg(format!("{} {args}", env!("CARGO_BIN_EXE_sayiir")))
        .arg("/dev/null")
        .env("SAYIIR_STORE", url);
    if no_color {
        script.env("NO_COLOR", "1");
    } else {
        script.env_remove("NO_COLOR");
    }
    let out = script.output().expect("util-linux's `script` runs");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test]
async fn colour_only_on_a_terminal_without_no_color() {
    let dir = TempDir::new().unwrap();
    let url = sqlite_store(dir.path()).await;
    let coloured = on_a_terminal(&url, "list", false);
    assert!(coloured.contains("\x1b[1mID\x1b[0m"), "{coloured:?}");
    assert!(coloured.contains("\x1b[33mpaused\x1b[0m"), "{coloured:?}");
    let plain = on_a_terminal(&url, "list", true);
    assert!(
        plain.contains("order-1") && !plain.contains('\x1b'),
        "{plain:?}"
    );
    let json = on_a_terminal(&url, "list --json", false);
    assert!(
        json.contains("\"order-1\"") && !json.contains('\x1b'),
        "{json:?}"
    );
}

/// Runs `sayiir <args>` on a pseudo-terminal whose keyboard types `typed`; its exit code and
/// output.
fn answering(url: &str, args: &str, typed: &str) -> (i32, String) {
    use std::io::Write;
    let mut script = Command::new("script")
        .args(["-qec"])
        .arg(format!("{} {args}", env!("CARGO_BIN_EXE_sayiir")))
        .arg("/dev/null")
        .env("SAYIIR_STORE", url)
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    script
        .stdin
        .take()
        .unwrap()
        .write_all(typed.as_bytes())
        .unwrap();
    let out = script.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
    )
}

#[tokio::test]
async fn a_bulk_action_asks_for_confirmation_on_a_terminal() {
    let dir = TempDir::new().unwrap();
    let url = sqlite_store(dir.path()).await;
    let bulk = "cancel --workflow order --status running";
    let (code, out) = answering(&url, bulk, "n\n");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("2 instance(s) to cancel"), "{out}");
    assert!(out.contains("Proceed? [y/N] "), "{out}");
    assert!(
        out.contains("error: not confirmed; nothing was done"),
        "{out}"
    );
    let still = crate::common::sayiir(&url, &["list", "--json", "--status", "running"]).json();
    assert_eq!(crate::common::ids(&still), ["nap-1", "order-1", "order-2"]);

    let (code, out) = answering(&url, bulk, "y\n");
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("order-1  cancelled") && out.contains("order-2  cancelled"),
        "{out}"
    );
}
