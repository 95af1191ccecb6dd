//! Compile-fail and compile-pass cases of `#[task]` and `#[workflow]`.
//! Re-bless with `TRYBUILD=overwrite cargo test -p sayiir-ui-tests` after reading the diff.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/fail/*/*.rs");
    t.pass("tests/ui/pass/*.rs");
}

/// `docs/errors.md` documents every compile-fail case.
#[test]
fn every_case_is_documented() {
    let doc = std::fs::read_to_string("../docs/errors.md").unwrap();
    for area in ["task", "workflow"] {
        for entry in std::fs::read_dir(format!("tests/ui/fail/{area}")).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "rs") {
                let case = format!("{area}/{}", path.file_name().unwrap().to_string_lossy());
                assert!(
                    doc.contains(&case),
                    "docs/errors.md does not document `{case}`"
                );
            }
        }
    }
}
