//! [`Transactional`] on the application's own connection: the store's writes join the
//! application's transaction (commit and rollback with it), a refusal leaves that transaction
//! usable, and the wake-up notification arrives at the commit, not before.

use sayiir_store::pg_harness::fresh_database;
use sayiir_store::{Created, NewSignal, PgStore, Store, StoreError, Timestamp, Transactional};
use sqlx::Connection;

static NS: std::sync::LazyLock<sayiir_store::Namespace> =
    std::sync::LazyLock::new(sayiir_store::Namespace::default);

use super::{SOON, hint, id, new_instance, quiet, raw};

/// A trace context the application's transaction writes with an instance.
const TRACE: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_in_the_applications_transaction_commit_and_wake_with_it() {
    let Some(db) = fresh_database("pg caller tx").await else {
        return;
    };
    let store = PgStore::connect(db.url()).await.unwrap();
    let mut rx = store.wakeups().unwrap();
    hint(&mut rx, "listening", SOON).await;
    let mut app = raw(&db).await;

    // Committed: visible, and the notification arrives, at the commit only.
    let mut tx = app.begin().await.unwrap();
    let created = (&mut *tx)
        .create(
            &NS,
            new_instance("a", Some(100)).trace_context(TRACE.to_owned()),
        )
        .await
        .unwrap();
    assert!(matches!(created, Created::New(_)), "{created:?}");
    // The transaction sees its own write; the store does not yet.
    assert_eq!((&mut *tx).load(&NS, &id("a")).await.unwrap().seq, 0);
    assert!(matches!(
        store.load(&id("a")).await,
        Err(StoreError::NotFound { .. })
    ));
    quiet(&mut rx, "create inside an open transaction").await;
    tx.commit().await.unwrap();
    hint(&mut rx, "the commit", SOON).await;
    let head = store.load(&id("a")).await.unwrap();
    assert_eq!(head.seq, 0);
    assert_eq!(
        head.trace_context.as_deref(),
        Some(TRACE),
        "its trace context"
    );

    // Rolled back: neither the instance nor the signal exists, no notification.
    let mut tx = app.begin().await.unwrap();
    (&mut *tx)
        .create(&NS, new_instance("b", Some(100)))
        .await
        .unwrap();
    let signal = NewSignal {
        id: id("a"),
        name: "go".into(),
        payload: b"p".to_vec(),
        now: Timestamp(200),
    };
    (&mut *tx).send_signal(&NS, signal.clone()).await.unwrap();
    tx.rollback().await.unwrap();
    quiet(&mut rx, "a rolled-back transaction").await;
    assert!(matches!(
        store.load(&id("b")).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(store.signals(&id("a")).await.unwrap().is_empty());

    // A refusal writes nothing and the transaction goes on.
    let mut tx = app.begin().await.unwrap();
    sqlx::query("CREATE TABLE orders (id BIGINT PRIMARY KEY)")
        .execute(&mut *tx)
        .await
        .unwrap();
    let mut to_nobody = signal.clone();
    to_nobody.id = id("nobody");
    assert!(matches!(
        (&mut *tx).send_signal(&NS, to_nobody).await,
        Err(StoreError::NotFound { .. })
    ));
    (&mut *tx).send_signal(&NS, signal).await.unwrap();
    tx.commit().await.unwrap();
    hint(&mut rx, "the signal's commit", SOON).await;
    assert_eq!(store.signals(&id("a")).await.unwrap().len(), 1);
    let orders: i64 = sqlx::query_scalar("SELECT count(*) FROM orders")
        .fetch_one(&mut app)
        .await
        .unwrap();
    assert_eq!(
        orders, 0,
        "the application's table was created in that transaction"
    );

    // Outside a transaction, each call commits on its own.
    (&mut app)
        .create(&NS, new_instance("c", Some(100)))
        .await
        .unwrap();
    hint(&mut rx, "a create outside a transaction", SOON).await;
    assert_eq!(store.load(&id("c")).await.unwrap().seq, 0);
}
