//! Errors: one line on stderr starting with `error:`, the documented exit code, never a
//! panic or a backtrace (the runs ask for one with `RUST_BACKTRACE=full`).

use tempfile::TempDir;

use crate::common::{run, sayiir, sqlite_store};

#[tokio::test]
async fn unknown_ids_are_not_found_and_bad_input_is_refused() {
    let dir = TempDir::new().unwrap();
    let url = sqlite_store(dir.path()).await;
    for command in ["show", "history", "pause", "resume", "cancel"] {
        let r = sayiir(&url, &[command, "nope"]);
        assert_eq!(r.error(3), "error: no instance with id `nope`", "{command}");
    }
    let padded = sayiir(&url, &["show", " order-1"]);
    assert_eq!(
        padded.error(4),
        "error: ` order-1` is not a valid instance id: instance id ` order-1` has leading or trailing whitespace"
    );
    let empty = sayiir(&url, &["history", ""]);
    assert!(
        empty.error(4).contains("instance id is empty"),
        "{empty:#?}"
    );
    let control = sayiir(&url, &["list", "--after", "a\u{1b}[2Jb"]);
    let line = control.error(4);
    assert!(line.contains("control character"), "{line}");
    assert!(
        !line.contains('\u{1b}'),
        "control characters are escaped: {line}"
    );
    let long = "x".repeat(300);
    assert!(
        sayiir(&url, &["show", &long])
            .error(4)
            .contains("300 bytes long")
    );

    let json = sayiir(&url, &["signal", "order-1", "approve", "{\"by\": "]);
    assert!(
        json.error(4)
            .starts_with("error: the payload is not valid JSON: "),
        "{json:#?}"
    );
    let missing = dir.path().join("missing.json");
    let file = sayiir(
        &url,
        &[
            "signal",
            "order-1",
            "approve",
            "--file",
            missing.to_str().unwrap(),
        ],
    );
    assert!(
        file.error(4).contains("cannot read the payload file"),
        "{file:#?}"
    );
}

#[test]
fn an_unreachable_store_is_exit_code_5() {
    let r = sayiir("postgres://sayiir@127.0.0.1:1/x", &["list"]);
    assert!(r.error(5).contains("unavailable"), "{r:#?}");
}

#[tokio::test]
async fn a_store_of_a_newer_schema_is_exit_code_5() {
    let dir = TempDir::new().unwrap();
    let url = sqlite_store(dir.path()).await;
    let raw = rusqlite::Connection::open(dir.path().join("app.db")).unwrap();
    raw.pragma_update(None, "user_version", 999).unwrap();
    drop(raw);
    let r = sayiir(&url, &["list"]);
    let line = r.error(5);
    assert!(
        line.contains("schema is version 999") && line.contains("upgrade sayiir"),
        "{line}"
    );
}

#[test]
fn a_file_that_is_not_a_database_or_no_file_is_exit_code_5() {
    let dir = TempDir::new().unwrap();
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, "not a database, just notes\n".repeat(200)).unwrap();
    let r = sayiir(&format!("sqlite://{}", notes.display()), &["list"]);
    assert!(r.error(5).contains("is not a SQLite database"), "{r:#?}");

    let missing = dir.path().join("typo.db");
    let r = sayiir(&format!("sqlite://{}", missing.display()), &["stats"]);
    assert!(r.error(5).contains("there is no SQLite database"), "{r:#?}");
    assert!(!missing.exists(), "the command line creates no store");
}

#[test]
fn usage_errors_are_exit_code_2() {
    let mut no_store = assert_cmd::Command::new(env!("CARGO_BIN_EXE_sayiir"));
    no_store.env_remove("SAYIIR_STORE").arg("list");
    let r = run(no_store);
    assert!(r.error(2).contains("--store"), "{r:#?}");

    let bad_url = sayiir("mysql://h/db", &["list"]);
    assert!(bad_url.error(2).contains("not a store URL"), "{bad_url:#?}");

    // clap's own errors: `error:` first, then the usage.
    for args in [
        &["frobnicate"][..],
        &["list", "--status", "bogus"],
        &["list", "--created-after", "yesterday"],
        &["list", "--limit", "0"],
        &["cancel", "order-1", "--workflow", "order"],
        &["signal", "order-1", "approve"],
    ] {
        let r = sayiir("sqlite://unused.db", args);
        assert_eq!(r.code, 2, "{args:?}: {r:#?}");
        assert!(r.stderr.starts_with("error: "), "{args:?}: {r:#?}");
        assert!(!r.stderr.contains("panicked at"), "{r:#?}");
    }
}

#[test]
fn help_says_what_each_command_does_and_lists_the_exit_codes() {
    let help = sayiir("sqlite://unused.db", &["--help"]);
    let text = help.ok();
    for needle in [
        "Exit codes:",
        "6  refused by the instance's state",
        "list",
        "needs-attention",
        "--store",
        "--json",
    ] {
        if needle == "needs-attention" {
            continue; // on the commands' pages
        }
        assert!(text.contains(needle), "{needle}: {text}");
    }
    for (command, says) in [
        ("list", "--created-after"),
        ("stats", "Count instances"),
        ("show", "what it waits for"),
        ("history", "committed transitions"),
        ("signal", "--file"),
        ("cancel", "--reason"),
        ("pause", "--yes"),
        ("resume", "Resume paused instances"),
        ("retry", "Run again"),
        ("fail", "flow into its workflow"),
        ("versions", "drained"),
        ("limits", "slots in use"),
    ] {
        let r = sayiir("sqlite://unused.db", &[command, "--help"]);
        assert!(r.ok().contains(says), "{command}: {r:#?}");
    }
    let list = sayiir("sqlite://unused.db", &["list", "--help"]);
    assert!(list.ok().contains("needs-attention"));
}
