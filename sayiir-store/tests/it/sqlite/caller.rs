//! [`Transactional`] on the application's own connection to the store's file: the store's
//! writes join the application's transaction (commit and rollback with it), a refusal leaves
//! that transaction usable, and outside a transaction each call commits on its own.

use rusqlite::{Connection, TransactionBehavior};
use sayiir_store::{Created, NewSignal, SqliteStore, Store, StoreError, Timestamp, Transactional};

static NS: std::sync::LazyLock<sayiir_store::Namespace> =
    std::sync::LazyLock::new(sayiir_store::Namespace::default);

use super::{id, new_instance};

/// A trace context the application's transaction writes with an instance.
const TRACE: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

fn not_found<T: std::fmt::Debug>(r: Result<T, StoreError>) -> bool {
    matches!(r, Err(StoreError::NotFound { .. }))
}

#[tokio::test]
async fn writes_in_the_applications_transaction_commit_and_roll_back_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("caller.db");
    let store = SqliteStore::open(&path).unwrap();
    let mut app = Connection::open(&path).unwrap();
    app.execute_batch("CREATE TABLE orders (id INTEGER PRIMARY KEY)")
        .unwrap();

    let tx = app
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .unwrap();
    tx.execute("INSERT INTO orders (id) VALUES (1)", [])
        .unwrap();
    let created = (&tx)
        .create(&NS, new_instance("a", 100).trace_context(TRACE.to_owned()))
        .await
        .unwrap();
    assert!(matches!(created, Created::New(_)), "{created:?}");
    assert_eq!((&tx).load(&NS, &id("a")).await.unwrap().seq, 0);
    assert!(
        not_found(store.load(&id("a")).await),
        "seen before the commit"
    );
    // Idempotent inside the transaction too.
    let again = (&tx).create(&NS, new_instance("a", 500)).await.unwrap();
    assert!(matches!(again, Created::Existing(_)), "{again:?}");
    tx.commit().unwrap();
    let head = store.load(&id("a")).await.unwrap();
    assert_eq!(head.seq, 0);
    assert_eq!(
        head.trace_context.as_deref(),
        Some(TRACE),
        "its trace context"
    );

    let signal = NewSignal {
        id: id("a"),
        name: "go".into(),
        payload: b"p".to_vec(),
        now: Timestamp(200),
    };
    let tx = app
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .unwrap();
    tx.execute("INSERT INTO orders (id) VALUES (2)", [])
        .unwrap();
    (&tx).create(&NS, new_instance("b", 100)).await.unwrap();
    (&tx).send_signal(&NS, signal.clone()).await.unwrap();
    tx.rollback().unwrap();
    assert!(not_found(store.load(&id("b")).await));
    assert!(store.signals(&id("a")).await.unwrap().is_empty());

    // A refusal writes nothing and the transaction goes on.
    let tx = app
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .unwrap();
    tx.execute("INSERT INTO orders (id) VALUES (3)", [])
        .unwrap();
    let mut to_nobody = signal.clone();
    to_nobody.id = id("nobody");
    assert!(not_found((&tx).send_signal(&NS, to_nobody).await));
    (&tx).send_signal(&NS, signal).await.unwrap();
    tx.commit().unwrap();
    assert_eq!(store.signals(&id("a")).await.unwrap().len(), 1);
    let orders: Vec<i64> = app
        .prepare("SELECT id FROM orders ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(orders, [1, 3]);

    // Outside a transaction, each call commits on its own.
    (&app).create(&NS, new_instance("c", 100)).await.unwrap();
    assert!(app.is_autocommit());
    assert_eq!(store.load(&id("c")).await.unwrap().seq, 0);
}
