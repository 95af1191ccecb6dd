//! What the command line must do on any store [`populate`](crate::common::populate)d: each
//! function runs the `sayiir` binary against the store `url` and checks its output.

use serde_json::Value;

use crate::common::{all_ids, ids, sayiir};

/// `list`: a table, JSON, and every filter.
pub(crate) fn list(url: &str) {
    let table = sayiir(url, &["list"]);
    let text = table.ok();
    let header = text.lines().next().unwrap();
    for column in [
        "ID", "WORKFLOW", "VERSION", "STATUS", "STATE", "CREATED", "UPDATED",
    ] {
        assert!(header.contains(column), "{header}");
    }
    for needle in [
        "order-1",
        "signal:approve#1",
        "paused",
        "blocked: panicked",
        "completed",
        "failed",
    ] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
    assert!(
        !text.contains('\x1b'),
        "no colour when stdout is not a terminal"
    );

    let all = sayiir(url, &["list", "--json"]).json();
    assert_eq!(ids(&all), all_ids());
    assert_eq!(all["next"], Value::Null);
    let order1 = &all["instances"][3];
    assert_eq!(order1["workflow"], "order");
    assert_eq!(order1["version"], 1);
    assert_eq!(order1["status"], "running");
    assert_eq!(order1["state"], "signal:approve#1");
    assert_eq!(order1["hash"].as_str().unwrap().len(), 64);
    assert!(order1["created_at"].as_str().unwrap().ends_with('Z'));
    let fragile = &all["instances"][1];
    assert_eq!(fragile["status"], "blocked");
    assert_eq!(fragile["block"]["kind"], "panicked");
    assert_eq!(fragile["block"]["needs_attention"], true);

    let cases: &[(&[&str], &[&str])] = &[
        (&["--status", "running"], &["nap-1", "order-1", "order-2"]),
        (&["--status", "completed"], &["quick-1"]),
        (&["--status", "failed"], &["doomed-1"]),
        (&["--status", "cancelled"], &[]),
        (&["--status", "blocked"], &["fragile-1", "order-3"]),
        (&["--status", "paused"], &["order-3"]),
        (&["--status", "needs-attention"], &["fragile-1"]),
        (&["--workflow", "order"], &["order-1", "order-2", "order-3"]),
        (
            &["--workflow", "order", "--status", "running"],
            &["order-1", "order-2"],
        ),
        (
            &["--id-prefix", "order-"],
            &["order-1", "order-2", "order-3"],
        ),
        (&["--id-prefix", "q"], &["quick-1"]),
        (
            &["--state", "signal:approve#1"],
            &["order-1", "order-2", "order-3"],
        ),
        (&["--version", "2"], &[]),
        (&["--created-after", "2999-01-01T00:00:00Z"], &[]),
        (&["--created-before", "2999-01-01T02:00:00+02:00"], &ALL),
        (
            &["--created-after", "2000-01-01T00:00:00Z", "--version", "1"],
            &ALL,
        ),
    ];
    for (filter, expected) in cases {
        let mut args = vec!["list", "--json"];
        args.extend_from_slice(filter);
        let listing = sayiir(url, &args).json();
        assert_eq!(ids(&listing), *expected, "{filter:?}");
    }
    let none = sayiir(url, &["list", "--status", "cancelled"]);
    assert_eq!(none.ok(), "no instance matches\n");
}

const ALL: [&str; 7] = [
    "doomed-1",
    "fragile-1",
    "nap-1",
    "order-1",
    "order-2",
    "order-3",
    "quick-1",
];

/// `list --limit` / `--after`: pages and the cursor, with and without a filter.
pub(crate) fn pages(url: &str) {
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut args = vec!["list", "--json", "--limit", "3"];
        if let Some(a) = &after {
            args.extend(["--after", a.as_str()]);
        }
        let page = sayiir(url, &args).json();
        pages += 1;
        seen.extend(ids(&page));
        match page["next"].as_str() {
            Some(next) => {
                assert_eq!(Some(next), seen.last().map(String::as_str));
                after = Some(next.to_owned());
            }
            None => break,
        }
    }
    assert_eq!(seen, all_ids());
    assert_eq!(pages, 3);

    let first = sayiir(url, &["list", "--limit", "3"]);
    assert!(
        first.ok().ends_with("next page: --after nap-1\n"),
        "{first:#?}"
    );

    let running = sayiir(
        url,
        &["list", "--json", "--status", "running", "--limit", "2"],
    )
    .json();
    assert_eq!(ids(&running), ["nap-1", "order-1"]);
    assert_eq!(running["next"], "order-1");
    let rest = sayiir(
        url,
        &[
            "list", "--json", "--status", "running", "--limit", "2", "--after", "order-1",
        ],
    )
    .json();
    assert_eq!(ids(&rest), ["order-2"]);
    assert_eq!(rest["next"], Value::Null);
}

/// `show` and `history`.
pub(crate) fn show_and_history(url: &str) {
    let shown = sayiir(url, &["show", "order-1", "--json"]).json();
    assert_eq!(shown["instance"]["id"], "order-1");
    assert_eq!(shown["instance"]["status"], "running");
    assert_eq!(shown["instance"]["state"], "signal:approve#1");
    assert!(
        shown["waits_for"]
            .as_str()
            .unwrap()
            .contains("outside event"),
        "{shown}"
    );
    assert!(shown["stored"]["state"].as_u64().unwrap() > 0);
    assert!(shown["stored"]["input"].as_u64().unwrap() > 0);
    assert_eq!(shown["stored"]["decoded"], false);
    assert_eq!(shown["signals"], Value::Array(Vec::new()));

    let text = sayiir(url, &["show", "fragile-1"]);
    let text = text.ok();
    for needle in [
        "fragile-1",
        "fragile, version 1",
        "blocked: panicked",
        "inspector crashed on parcel 3",
        "shown as sizes",
    ] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
    let failed = sayiir(url, &["show", "doomed-1", "--json"]).json();
    assert_eq!(failed["instance"]["status"], "failed");
    assert_eq!(failed["waits_for"], Value::Null);
    assert!(failed["stored"]["output"].as_u64().unwrap() > 0);

    let history = sayiir(url, &["history", "order-1", "--json"]).json();
    let entries = history["entries"].as_array().unwrap();
    assert!(entries.len() >= 3, "{history}");
    assert_eq!(entries[0]["seq"], 0);
    assert_eq!(entries[0]["kind"], "started");
    assert_eq!(entries[0]["after_ms"], Value::Null);
    for (i, e) in entries.iter().enumerate() {
        assert_eq!(e["seq"], i as u64, "{history}");
        assert!(e["at"].as_str().unwrap().ends_with('Z'));
    }
    let text = sayiir(url, &["history", "order-1"]);
    let text = text.ok();
    assert!(text.starts_with("SEQ"), "{text}");
    assert!(text.contains("started"), "{text}");
}

/// `stats` and `versions`.
pub(crate) fn stats_and_versions(url: &str) {
    let stats = sayiir(url, &["stats", "--json"]).json();
    let total = &stats["total"];
    for (field, n) in [
        ("running", 3),
        ("paused", 1),
        ("needs_attention", 1),
        ("completed", 1),
        ("failed", 1),
        ("cancelled", 0),
        ("total", 7),
    ] {
        assert_eq!(total[field], n, "{field}: {stats}");
    }
    let order = stats["workflows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["workflow"] == "order")
        .unwrap();
    assert_eq!(
        (order["running"].as_u64(), order["paused"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(
        stats["workers"]["alive"], 0,
        "the populating worker stopped"
    );
    let text = sayiir(url, &["stats"]);
    assert!(text.ok().contains("(all)"), "{text:#?}");

    let versions = sayiir(url, &["versions", "--json"]).json();
    let order = versions
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["workflow"] == "order")
        .unwrap();
    assert_eq!(order["version"], 1);
    assert_eq!(order["running"], 2);
    assert_eq!(order["blocked"], 1);
    assert_eq!(order["drained"], false);
    let quick = versions
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["workflow"] == "quick")
        .unwrap();
    assert_eq!(
        (quick["completed"].as_u64(), quick["drained"].as_bool()),
        (Some(1), Some(true))
    );
    let text = sayiir(url, &["versions"]);
    assert!(text.ok().starts_with("WORKFLOW"), "{text:#?}");
}

/// `cancel` by filter: refused without `--yes` (stdin is not a terminal), done with it; by
/// ids, with one refused.
pub(crate) fn bulk_cancel(url: &str) {
    let filter = ["--workflow", "order", "--status", "running"];
    let mut args = vec!["cancel"];
    args.extend(filter);
    let refused = sayiir(url, &args);
    let line = refused.error(2);
    assert!(
        line.contains("without confirmation") && line.contains("--yes"),
        "{line}"
    );
    assert!(refused.stdout.contains("order-1") && refused.stdout.contains("order-2"));
    assert!(
        refused.stdout.contains("2 instance(s) to cancel"),
        "{refused:#?}"
    );
    let mut list = vec!["list", "--json"];
    list.extend(filter);
    assert_eq!(
        ids(&sayiir(url, &list).json()),
        ["order-1", "order-2"],
        "nothing was done"
    );

    args.extend(["--yes", "--json", "--reason", "duplicate orders"]);
    let done = sayiir(url, &args).json();
    assert_eq!(done["action"], "cancel");
    assert_eq!(done["selected"], 2);
    assert_eq!(done["succeeded"], 2);
    assert_eq!(done["failed"], 0);
    assert_eq!(done["results"][0]["id"], "order-1");
    assert_eq!(done["results"][0]["ok"], true);
    let cancelled = sayiir(url, &["list", "--json", "--status", "cancelled"]).json();
    assert_eq!(ids(&cancelled), ["order-1", "order-2"]);

    let nothing = sayiir(
        url,
        &["cancel", "--workflow", "order", "--status", "running"],
    );
    assert_eq!(nothing.ok(), "no instance matches; nothing to do\n");

    let partial = sayiir(url, &["cancel", "quick-1", "nap-1"]);
    let line = partial.error(1);
    assert_eq!(line, "error: cancel failed for 1 of 2 instances");
    assert!(partial.stdout.contains("nap-1  cancelled"), "{partial:#?}");
    assert!(
        partial.stdout.contains(
            "quick-1  not cancelled: instance `quick-1` has already finished (completed)"
        ),
        "{partial:#?}"
    );
    assert!(
        partial
            .stdout
            .contains("cancel: 1 of 2 instance(s) cancelled, 1 failed")
    );

    let finished = sayiir(url, &["cancel", "doomed-1"]);
    assert!(
        finished.error(6).contains("already finished"),
        "{finished:#?}"
    );
    let unknown = sayiir(url, &["cancel", "nope"]);
    assert_eq!(unknown.error(3), "error: no instance with id `nope`");
    let nothing_given = sayiir(url, &["cancel"]);
    assert!(
        nothing_given
            .error(2)
            .contains("say which instances to cancel")
    );
}

/// `pause` and `resume`, by id and by filter; leaves the instances as they were.
pub(crate) fn pause_and_resume(url: &str) {
    let paused = sayiir(url, &["pause", "order-1"]);
    assert_eq!(paused.ok(), "order-1  paused\n");
    let shown = sayiir(url, &["show", "order-1", "--json"]).json();
    assert_eq!(shown["instance"]["block"]["kind"], "paused");
    assert_eq!(shown["instance"]["block"]["needs_attention"], false);
    let paused = sayiir(url, &["list", "--json", "--status", "paused"]).json();
    assert_eq!(ids(&paused), ["order-1", "order-3"]);

    let resumed = sayiir(url, &["resume", "order-1", "--json"]).json();
    assert_eq!(resumed["results"][0]["ok"], true);
    let again = sayiir(url, &["resume", "order-1"]);
    assert_eq!(again.error(6), "error: instance `order-1` is not paused");

    let all = sayiir(url, &["resume", "--status", "paused", "--yes"]);
    assert!(all.ok().contains("order-3  resumed"), "{all:#?}");
    let running = sayiir(url, &["list", "--json", "--workflow", "order"]).json();
    for i in running["instances"].as_array().unwrap() {
        assert_eq!(i["status"], "running", "{i}");
    }
    let unknown = sayiir(url, &["pause", "nope"]);
    assert_eq!(unknown.error(3), "error: no instance with id `nope`");
    // As populated again.
    sayiir(url, &["pause", "order-3"]).ok();
}
