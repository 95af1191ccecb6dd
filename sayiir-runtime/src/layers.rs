//! The module layers of `lib.rs`, checked on the sources: a module names (through `crate::`,
//! directly or through a re-export of the crate root) only modules of its own layer or below.
//! Unit-test files (`tests.rs`, `*_tests.rs`) are exempt: a test may drive anything.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Each module's layer, bottom (0) to top, as `lib.rs` lists them.
const LAYERS: &[&[&str]] = &[
    &[
        "machine",
        "waits",
        "join",
        "shared",
        "codec",
        "codec_golden",
        "hash",
        "shape",
        "describe",
        "inspect",
        "parts",
        "migrate",
        "resources",
        "context",
        "clock",
        "retry",
        "feed",
        "limits",
        "lease",
        "metrics",
        "trace_context",
        "registry",
        "lock",
        "error",
        "ops",
        "schedule",
        "start_options",
    ],
    &["planner", "batcher", "commit"],
    &["committer", "creator", "inline"],
    &["core"],
    &["driver", "scheduler"],
    &["worker"],
    &["engine", "builder"],
    &[
        "control",
        "admin",
        "versions",
        "transactional",
        "schedules",
        "testing",
        "__private",
    ],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `pub use module::{A, B};` in `lib.rs`: which module each root name comes from.
fn root_exports(lib: &str) -> HashMap<String, String> {
    let mut names = HashMap::new();
    for item in lib.split(';') {
        let Some(rest) = item.trim().strip_prefix("pub use ") else {
            continue;
        };
        let rest = rest.trim_start_matches("crate::");
        let Some((module, names_part)) = rest.split_once("::") else {
            continue;
        };
        let list = names_part.trim_matches(|c| c == '{' || c == '}' || char::is_whitespace(c));
        for name in list.split(',') {
            let name = name.rsplit("::").next().unwrap_or("").trim();
            if !name.is_empty() {
                names.insert(name.to_owned(), module.to_owned());
            }
        }
    }
    names
}

/// The modules a source file names through `crate::`, outside comments.
fn named(source: &str, roots: &HashMap<String, String>) -> Vec<String> {
    let mut out = Vec::new();
    for line in source.lines().filter(|l| !l.trim_start().starts_with("//")) {
        for (i, _) in line.match_indices("crate::") {
            let ident: String = line[i + 7..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if let Some(module) = roots.get(&ident) {
                out.push(module.clone());
            } else if layer_of(&ident).is_some() {
                out.push(ident);
            }
        }
    }
    out
}

#[test]
fn every_module_names_only_its_layer_or_below() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    let roots = root_exports(&lib);
    assert_eq!(roots.get("WorkerConfig").map(String::as_str), Some("core"));
    assert_eq!(roots.get("Engine").map(String::as_str), Some("engine"));
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut checked = 0;
    let mut wrong = Vec::new();
    for file in files {
        let rel = file.strip_prefix(&src).unwrap();
        let name = rel.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name == "tests.rs"
            || name.ends_with("_tests.rs")
            || name == "lib.rs"
            || name == "layers.rs"
        {
            continue;
        }
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_str()
            .unwrap();
        let module = first.trim_end_matches(".rs");
        let Some(layer) = layer_of(module) else {
            panic!(
                "`{module}` ({}) is in no layer: add it to `lib.rs` and here",
                rel.display()
            )
        };
        let source = std::fs::read_to_string(&file).unwrap();
        for other in named(&source, &roots) {
            if layer_of(&other).is_some_and(|l| l > layer) {
                wrong.push(format!("{} names `{other}`", rel.display()));
            }
        }
        checked += 1;
    }
    assert!(checked > 40, "only {checked} files checked");
    assert!(
        wrong.is_empty(),
        "modules naming a higher layer: {wrong:#?}"
    );
}

#[test]
fn the_check_sees_paths_and_root_reexports() {
    let roots = root_exports(
        "pub use engine::{Engine, InstanceHandle};\npub use crate::core::WorkerConfig;",
    );
    let source = "use crate::driver::Stop;\n/// crate::worker in a comment\nlet e: crate::Engine;";
    assert_eq!(named(source, &roots), ["driver", "engine"]);
    assert_eq!(
        roots.get("InstanceHandle").map(String::as_str),
        Some("engine")
    );
}
