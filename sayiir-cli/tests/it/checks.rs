//! What the command line must do on any store [`populate`](crate::common::populate)d: each
//! function runs the `sayiir` binary against the store `url` and checks its output.

use serde_json::Value;

use crate::common::{all_ids, embedded, ids, sayiir};

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
    assert_eq!(order1["id"], "order-1");
    assert_eq!(order1["workflow"], "order");
    assert_eq!(order1["version"], 1);
    assert_eq!(order1["status"], "running");
    assert_eq!(order1["state"], "signal:approve#1");
    assert_eq!(order1["hash"].as_str().unwrap().len(), 64);
    assert!(order1["created_at"].as_str().unwrap().ends_with('Z'));
    let fragile = &all["instances"][1];
    assert_eq!(fragile["id"], "fragile-1");
    assert_eq!(fragile["status"], "blocked");
    assert_eq!(fragile["block"]["kind"], "panicked");
    assert_eq!(fragile["block"]["needs_attention"], true);

    let cases: &[(&[&str], &[&str])] = &[
        (&["--status", "running"], &["nap-1", "order-1", "order-2"]),
        (&["--status", "completed"], &["quick-1"]),
        (&["--status", "failed"], &["doomed-1"]),
        (&["--status", "cancelled"], &[]),
        (
            &["--status", "blocked"],
            &["fragile-1", "order-3", "parcel-1"],
        ),
        (&["--status", "paused"], &["order-3"]),
        (&["--status", "needs-attention"], &["fragile-1", "parcel-1"]),
        (
            &["--status", "needs-attention", "--workflow", "parcel"],
            &["parcel-1"],
        ),
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
        (&["--id-prefix", "order-3"], &["order-3"]),
        (&["--id-prefix", "zzz"], &[]),
        (
            &["--state", "signal:approve#1"],
            &["order-1", "order-2", "order-3"],
        ),
        (&["--blocked", "parked"], &["parcel-1"]),
        (&["--blocked", "panicked,paused"], &["fragile-1", "order-3"]),
        (&["--blocked", "version-mismatch"], &[]),
        (&["--updated-after", "2999-01-01T00:00:00Z"], &[]),
        (&["--updated-before", "2999-01-01T00:00:00Z"], &ALL),
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

const ALL: [&str; 8] = [
    "doomed-1",
    "fragile-1",
    "nap-1",
    "order-1",
    "order-2",
    "order-3",
    "parcel-1",
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

/// `show` and `history`: values decoded by the description the populating engine saved (the
/// standalone binary has no workflow code).
pub(crate) fn show_and_history(url: &str) {
    let shown = sayiir(url, &["show", "order-1", "--json"]).json();
    assert_eq!(shown["instance"]["id"], "order-1");
    assert_eq!(shown["instance"]["status"], "running");
    assert_eq!(shown["instance"]["state"], "signal:approve#1");
    assert_eq!(shown["state"]["fields"]["total"], 100, "{shown}");
    assert_eq!(
        shown["state"]["wait"]["signal"]["name"], "approve",
        "{shown}"
    );
    assert!(shown["state_size"].as_u64().unwrap() > 0);
    assert_eq!(shown["decoded_by"]["source"], "stored_description");
    assert_eq!(shown["allowed"], serde_json::json!(["pause", "cancel"]));
    assert_eq!(shown["signals"], Value::Array(Vec::new()));
    assert_eq!(shown["problems"], Value::Array(Vec::new()));
    assert_eq!(shown["lease"], Value::Null, "the worker released it");
    assert_eq!(shown["instance"]["priority"], 0, "{shown}");
    let second = sayiir(url, &["show", "order-2", "--json"]).json();
    assert_eq!(second["instance"]["priority"], 3, "{second}");
    let text = sayiir(url, &["show", "order-2"]);
    let text = text.ok();
    assert!(text.contains("priority   3"), "{text}");

    let text = sayiir(url, &["show", "order-1"]);
    let text = text.ok();
    assert!(
        !text.contains("priority"),
        "priority 0 is not shown: {text}"
    );
    for needle in [
        "waits for  signal `approve`",
        "carries    order = 1",
        "total = 100",
        "allowed    pause, cancel",
        "decoded    by the description",
    ] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
    let text = sayiir(url, &["show", "fragile-1"]);
    let text = text.ok();
    for needle in [
        "fragile, version 1",
        "blocked: panicked (needs attention)",
        "inspector crashed on parcel 3",
        "allowed    retry, cancel",
    ] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
    let parked = sayiir(url, &["show", "parcel-1", "--json"]).json();
    assert_eq!(parked["instance"]["block"]["kind"], "parked");
    assert_eq!(
        parked["allowed"],
        serde_json::json!(["retry", "fail", "cancel"])
    );
    let failed = sayiir(url, &["show", "doomed-1", "--json"]).json();
    assert_eq!(failed["instance"]["status"], "failed");
    assert_eq!(
        failed["output"],
        serde_json::json!({"Err": "card declined for order 7"})
    );
    assert_eq!(failed["allowed"], Value::Array(Vec::new()));

    let history = sayiir(url, &["history", "order-1", "--json"]).json();
    assert_eq!(history["id"], "order-1");
    let entries = history["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 3, "{history}");
    assert_eq!(entries[0]["kind"], "started");
    assert_eq!(entries[0]["since_previous"], Value::Null);
    assert_eq!(entries[0]["value"], serde_json::json!({"order": 1}));
    assert_eq!(entries[2]["task"], "reserve");
    assert_eq!(entries[2]["value"], 100);
    for (i, e) in entries.iter().enumerate() {
        assert_eq!(e["seq"], i as u64, "{history}");
        assert!(e["time"].as_str().unwrap().ends_with('Z'));
    }
    let text = sayiir(url, &["history", "doomed-1"]);
    let text = text.ok();
    assert!(text.starts_with("SEQ"), "{text}");
    assert!(
        text.contains("task `charge` attempt 1 failed: card declined for order 7"),
        "{text}"
    );
}

/// `stats` and `versions`.
pub(crate) fn stats_and_versions(url: &str) {
    let stats = sayiir(url, &["stats", "--json"]).json();
    let total = &stats["total"];
    for (field, n) in [
        ("running", 3),
        ("paused", 1),
        ("needs_attention", 2),
        ("completed", 1),
        ("failed", 1),
        ("cancelled", 0),
        ("total", 8),
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
    assert_eq!(stats["due"], 0, "nothing is due: {stats}");
    assert_eq!(stats["oldest_due"], Value::Null);
    assert_eq!(
        stats["workers"]["alive"], 0,
        "the populating worker stopped"
    );
    let text = sayiir(url, &["stats"]);
    let text = text.ok();
    assert!(text.contains("(all)"), "{text}");
    assert!(text.contains("due, not claimed by a worker: 0"), "{text}");

    let versions = sayiir(url, &["versions", "--json"]).json();
    let find = |name: &str| {
        versions
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["workflow"] == name)
            .unwrap()
            .clone()
    };
    let order = find("order");
    assert_eq!(order["version"], 1);
    assert_eq!(order["running"], 2);
    assert_eq!(order["blocked"], 1);
    assert_eq!(order["drained"], false);
    let quick = find("quick");
    assert_eq!(
        (quick["completed"].as_u64(), quick["drained"].as_bool()),
        (Some(1), Some(true))
    );
    let text = sayiir(url, &["versions"]);
    assert!(text.ok().starts_with("WORKFLOW"), "{text:#?}");
}

/// `retry` and `fail`: allowed on what needs attention, refused elsewhere.
pub(crate) fn retry_and_fail(url: &str) {
    let refused = sayiir(url, &["fail", "fragile-1"]);
    assert_eq!(
        refused.error(6),
        "error: cannot fail instance `fragile-1`: it is blocked (panicked)"
    );
    let refused = sayiir(url, &["retry", "order-1"]);
    assert!(refused.error(6).contains("it is running"), "{refused:#?}");
    let refused = sayiir(url, &["pause", "parcel-1"]);
    assert!(refused.error(6).contains("parked"), "{refused:#?}");

    let failed = sayiir(url, &["fail", "parcel-1"]);
    assert_eq!(failed.ok(), "parcel-1  fail requested\n");
    let shown = sayiir(url, &["show", "parcel-1", "--json"]).json();
    assert_eq!(shown["instance"]["block"]["kind"], "fail_requested");
    let again = sayiir(url, &["fail", "parcel-1"]);
    assert!(again.error(6).contains("fail_requested"), "{again:#?}");

    let retried = sayiir(
        url,
        &["retry", "--status", "needs-attention", "--yes", "--json"],
    )
    .json();
    assert_eq!(retried["selected"], 1, "{retried}");
    assert_eq!(retried["results"][0]["id"], "fragile-1");
    assert_eq!(retried["results"][0]["ok"], true);
    let attention = sayiir(url, &["list", "--json", "--status", "needs-attention"]).json();
    assert_eq!(ids(&attention), Vec::<String>::new());
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

/// `signal` from the standalone binary: the payload is checked against the type the saved
/// description records, then buffered (no worker runs).
pub(crate) fn signal(url: &str) {
    let wrong = sayiir(url, &["signal", "order-2", "approve", r#"{"by": 5}"#]);
    let line = wrong.error(4);
    assert!(
        line.starts_with("error: the payload of signal `approve` for instance `order-2` is not a"),
        "{line}"
    );
    let sent = sayiir(
        url,
        &[
            "signal",
            "order-2",
            "approve",
            r#"{"by": "ada", "limit": 1000}"#,
            "--json",
        ],
    )
    .json();
    assert_eq!(sent["sent"], true);
    let shown = sayiir(url, &["show", "order-2", "--json"]).json();
    let signals = shown["signals"].as_array().unwrap();
    assert_eq!(signals.len(), 1, "{shown}");
    assert_eq!(signals[0]["name"], "approve");
    assert_eq!(
        signals[0]["value"],
        serde_json::json!({"by": "ada", "limit": 1000})
    );
    let text = sayiir(url, &["show", "order-2"]);
    assert!(
        text.ok().contains(r#"`approve` {"by":"ada","limit":1000}"#),
        "{text:#?}"
    );
    let finished = sayiir(url, &["signal", "quick-1", "approve", "{}"]);
    assert!(
        finished.error(6).contains("already finished"),
        "{finished:#?}"
    );
}

/// `schedules`: list (table, JSON), show, pause, resume, backfill (standalone: refused; in the
/// application's binary: once per tick), delete, unknown ids.
pub(crate) fn schedules(url: &str) {
    let text = sayiir(url, &["schedules", "list"]).ok().to_owned();
    let header = text.lines().next().unwrap();
    for column in [
        "ID", "WORKFLOW", "CRON", "ZONE", "STATE", "NEXT", "LAST RUN",
    ] {
        assert!(header.contains(column), "{header}");
    }
    for needle in [
        "yearly",
        "quick",
        "0 0 1 1 *",
        "Europe/Paris",
        "active",
        "-01-01T00:00:00+01:00",
    ] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
    let all = sayiir(url, &["schedules", "list", "--json"]).json();
    assert_eq!(all[0]["id"], "yearly");
    assert_eq!(all[0]["state"], "active");
    assert_eq!(all[0]["next_fires"].as_array().unwrap().len(), 5);
    let show = sayiir(url, &["schedules", "show", "yearly"])
        .ok()
        .to_owned();
    assert_eq!(
        show.matches("-01-01T00:00:00+01:00 (").count(),
        5,
        "the next 5 fire times: {show}"
    );
    assert!(
        show.lines()
            .any(|l| l.starts_with("catch-up") && l.ends_with(" latest")),
        "{show}"
    );

    let paused = sayiir(url, &["schedules", "pause", "yearly"])
        .ok()
        .to_owned();
    assert_eq!(paused, "paused schedule `yearly`\n");
    let one = sayiir(url, &["schedules", "show", "yearly", "--json"]).json();
    assert_eq!(one["state"], "paused");
    assert_eq!(one["next_fires"], serde_json::json!([]));
    let resumed = sayiir(url, &["schedules", "resume", "yearly"])
        .ok()
        .to_owned();
    assert!(
        resumed.starts_with("resumed schedule `yearly`: next run at ")
            && resumed.trim_end().ends_with("-01-01T00:00:00+01:00"),
        "{resumed}"
    );

    let missing = sayiir(url, &["schedules", "show", "nope"]);
    assert_eq!(missing.error(3), "error: no schedule with id `nope`");
    let range = [
        "--from",
        "2025-12-31T00:00:00Z",
        "--to",
        "2026-01-01T00:00:00Z",
    ];
    let args = |json: bool| {
        let mut a = vec!["schedules", "backfill", "yearly"];
        a.extend(range);
        if json {
            a.push("--json");
        }
        a
    };
    let standalone = sayiir(url, &args(false));
    assert!(
        standalone
            .error(4)
            .contains("no version of workflow `quick` registered with this engine takes its input"),
        "{standalone:?}"
    );
    let first = embedded(url, &args(true)).json();
    assert_eq!(
        first["started"],
        serde_json::json!(["yearly@2025-12-31T23:00:00Z"])
    );
    let again = embedded(url, &args(true)).json();
    assert_eq!(again["started"], serde_json::json!([]));
    assert_eq!(
        again["existing"],
        serde_json::json!(["yearly@2025-12-31T23:00:00Z"])
    );

    let deleted = sayiir(url, &["schedules", "delete", "yearly"])
        .ok()
        .to_owned();
    assert_eq!(
        deleted,
        "deleted schedule `yearly` (the instances it started are kept)\n"
    );
    assert_eq!(sayiir(url, &["schedules", "list"]).ok(), "no schedules\n");
    let kept = sayiir(url, &["list", "--id-prefix", "yearly@", "--json"]).json();
    assert_eq!(ids(&kept), ["yearly@2025-12-31T23:00:00Z"]);
    assert_eq!(
        sayiir(url, &["schedules", "delete", "yearly"]).error(3),
        "error: no schedule with id `yearly`"
    );
}
