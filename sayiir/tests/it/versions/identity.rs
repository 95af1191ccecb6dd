//! Identity is checked by definition, never by name alone: two workflows sharing a name are
//! refused unless declared versions of one, and every typed call checks that the instance runs
//! the definition its type names.

use sayiir::{BuildProblem, Engine, EngineError, MemoryStore, SqliteStore};

mod billing {
    #[sayiir::workflow]
    pub(crate) async fn process(n: u64) -> u64 {
        n + 1
    }
}

mod shipping {
    #[sayiir::task]
    async fn weigh(n: u64) -> u64 {
        n * 3
    }

    #[sayiir::workflow]
    pub(crate) async fn process(n: u64) -> u64 {
        weigh(n).await
    }
}

mod text {
    #[sayiir::workflow]
    pub(crate) async fn process(n: u64) -> String {
        n.to_string()
    }
}

#[sayiir::workflow(name = "total")]
async fn total_v1(n: u64) -> u64 {
    n + 2
}

#[sayiir::workflow(name = "total", version = 2)]
async fn total_v2(n: u64) -> i64 {
    -(n as i64)
}

#[test]
fn two_workflows_with_one_name_and_version_are_refused() {
    let e = Engine::builder(MemoryStore::new())
        .register::<billing::process>()
        .register::<shipping::process>()
        .build()
        .expect_err("two different `process` workflows registered");
    let [
        BuildProblem::NameConflict {
            workflow,
            version: 1,
            types,
            ..
        },
    ] = e.problems.as_slice()
    else {
        panic!("{e}")
    };
    assert_eq!(workflow, "process");
    assert!(types[0].ends_with("billing::process") && types[1].ends_with("shipping::process"));
    let text = e.to_string();
    assert!(text.contains("`#[workflow(name = \"..\")]`"), "{text}");
    // The same workflow twice is one registration; declared versions of one name are fine.
    Engine::builder(MemoryStore::new())
        .register::<billing::process>()
        .register::<billing::process>()
        .register::<total_v1>()
        .register::<total_v2>()
        .build()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_calls_check_the_definition_not_the_name() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("identity.db");
    {
        let engine = Engine::builder(SqliteStore::open(&db).unwrap())
            .register::<billing::process>()
            .register::<total_v1>()
            .build()
            .unwrap();
        let worker = engine.spawn_worker();
        assert_eq!(
            engine
                .start::<billing::process>("id", 5)
                .await
                .unwrap()
                .result()
                .await
                .unwrap(),
            6
        );
        assert_eq!(
            engine
                .start::<total_v1>("t", 5)
                .await
                .unwrap()
                .result()
                .await
                .unwrap(),
            7
        );
        worker.shutdown().await.unwrap();
    }
    // Another binary where `process` is shipping's, and `total` has two versions.
    let engine = Engine::builder(SqliteStore::open(&db).unwrap())
        .register::<shipping::process>()
        .register::<total_v1>()
        .register::<total_v2>()
        .build()
        .unwrap();
    let wrong = |r: Result<_, EngineError>| match r {
        Err(EngineError::WrongDefinition(w)) => (w.found, w.expected),
        Err(e) => panic!("expected WrongDefinition, got {e}"),
        Ok(_) => panic!("expected WrongDefinition, got a value"),
    };
    // billing's output is not read as shipping's.
    let (found, expected) = wrong(engine.result::<shipping::process>("id").await.map(drop));
    assert_eq!(found.hash.0, billing::process::DEFINITION_HASH);
    assert_eq!(expected.hash.0, shipping::process::DEFINITION_HASH);
    // An existing id of another definition is not returned as if it were this one.
    wrong(engine.start::<shipping::process>("id", 7).await.map(drop));
    wrong(engine.handle::<shipping::process>("id").await.map(drop));
    // `total` version 1 returned 7 as a `u64`: version 2 does not read it as an `i64`.
    let (found, expected) = wrong(engine.result::<total_v2>("t").await.map(drop));
    assert_eq!((found.version, expected.version), (1, 2));
    assert_eq!(engine.result::<total_v1>("t").await.unwrap(), 7);
    assert_eq!(
        engine
            .handle::<total_v1>("t")
            .await
            .unwrap()
            .result()
            .await
            .unwrap(),
        7
    );
    // A third `process` returning `String`: a typed error, not a corrupt instance.
    let text_engine = Engine::builder(SqliteStore::open(&db).unwrap())
        .register::<text::process>()
        .build()
        .unwrap();
    wrong(text_engine.result::<text::process>("id").await.map(drop));
    assert_eq!(
        text_engine.status("id").await.unwrap().status,
        sayiir::InstanceStatus::Completed
    );
}

#[tokio::test]
async fn a_workflow_must_be_registered_to_be_started() {
    let engine = Engine::builder(MemoryStore::new()).build().unwrap();
    match engine.start::<total_v1>("x", 1).await {
        Err(EngineError::NotRegistered {
            workflow, version, ..
        }) => {
            assert_eq!((workflow.as_str(), version), ("total", 1))
        }
        r => panic!("{:?}", r.map(drop)),
    }
}

/// Shared-context values carry their type: read as another type, they are an error in the
/// workflow's hands, never a silently wrong value.
#[sayiir::workflow]
async fn counter(ctx: &mut sayiir::WorkflowContext, n: u32) -> Result<String, String> {
    ctx.set("n", &n).map_err(|e| e.to_string())?;
    ctx.set("pair", &Pair { a: 1, b: 2 })
        .map_err(|e| e.to_string())?;
    sayiir::sleep(std::time::Duration::from_millis(1)).await;
    let wide = ctx.get::<u64>("n").map_err(|e| e.to_string());
    let tuple = ctx.get::<(u64, u64)>("pair").map_err(|e| e.to_string());
    let same = ctx.get::<u32>("n").map_err(|e| e.to_string())?;
    Ok(format!("{wide:?} | {tuple:?} | {same:?}"))
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Pair {
    a: u64,
    b: u64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn context_values_are_read_back_only_as_their_type() {
    let engine = Engine::builder(MemoryStore::new())
        .register::<counter>()
        .build()
        .unwrap();
    let worker = engine.spawn_worker();
    let out = engine
        .start::<counter>("c", 7)
        .await
        .unwrap()
        .result()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        out,
        format!(
            "Err(\"shared state key `n` holds a `u32`, not a `u64`: read it as the type it was stored as, or store it again\") | \
             Err(\"shared state key `pair` holds a `{}`, not a `(u64, u64)`: read it as the type it was stored as, or store it again\") | Some(7)",
            std::any::type_name::<Pair>()
        )
    );
    worker.shutdown().await.unwrap();
}

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
enum Loose {
    Number(u64),
    Text(String),
}

#[sayiir::task]
async fn loosen(n: u64) -> u64 {
    n
}

#[sayiir::workflow]
async fn loose(value: Loose) -> u64 {
    let n = loosen(1).await;
    match value {
        Loose::Number(v) => v + n,
        Loose::Text(t) => t.len() as u64 + n,
    }
}

#[test]
fn a_type_the_format_cannot_store_is_refused_at_build() {
    let e = Engine::builder(MemoryStore::new())
        .register::<loose>()
        .build()
        .expect_err("an untagged enum cannot be stored");
    let text = e.to_string();
    assert!(
        text.contains(&format!(
            "workflow `loose` version 1: input `value`: cannot trace the structure of `{}`",
            std::any::type_name::<Loose>()
        )) && text.contains("`untagged`"),
        "{text}"
    );
    assert!(matches!(e.problems[0], BuildProblem::Untraceable(_)));
}
