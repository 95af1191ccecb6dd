//! TLS, against a cluster of its own with a certificate authority made for it (the server of
//! `SAYIIR_TEST_PG_URL` may have no TLS): `sslmode=require` connects and works, including the
//! wake-up listener; `verify-full` with the right CA connects; a wrong CA and a server without
//! TLS are clear, non-retryable connection errors.

use std::path::Path;

use sayiir_store::pg_harness;
use sayiir_store::{PgStore, Status, Store, StoreError};

use super::{SOON, create, hint, id, step};

/// A password in every URL: no error may repeat it. The cluster trusts local connections, so
/// the server never asks for it.
const PASSWORD: &str = "tls-s3cret-pw";

fn url(host: &str, port: u16, db: &str, params: &str) -> String {
    format!("postgres://postgres:{PASSWORD}@{host}:{port}/{db}?{params}")
}

fn verify_full(port: u16, db: &str, ca: &Path) -> String {
    url(
        "localhost",
        port,
        db,
        &format!("sslmode=verify-full&sslrootcert={}", ca.display()),
    )
}

/// Whether every connection of database `db` that `application_name` sayiir opened uses TLS,
/// and there is at least one.
async fn sayiir_connections_use_tls(admin: &str, db: &str) -> (i64, i64) {
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(admin)
        .await
        .unwrap();
    sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE s.ssl) FROM pg_stat_activity a \
         JOIN pg_stat_ssl s USING (pid) WHERE a.datname = $1 AND a.application_name = 'sayiir'",
    )
    .bind(db)
    .fetch_one(&mut conn)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_require_verify_full_a_wrong_ca_and_a_server_without_tls() {
    let Some((cluster, tls)) = pg_harness::tls_cluster() else {
        return;
    };
    let db = cluster.fresh_database("tls").await;
    let (port, name) = (cluster.port(), db.name());

    // `sslmode=require`: encrypted, the certificate is not checked. A real store works on it,
    // wake-up listener included (it opens its own connection with the same settings).
    let store = PgStore::connect(&url("127.0.0.1", port, name, "sslmode=require"))
        .await
        .unwrap();
    let mut rx = store.wakeups().unwrap();
    hint(&mut rx, "listening over TLS", SOON).await;
    create(&store, "over-tls", Some(100)).await;
    hint(&mut rx, "create over TLS", SOON).await;
    store
        .commit(step("over-tls", 0, Some(200), 150))
        .await
        .unwrap();
    let record = store.load(&id("over-tls")).await.unwrap();
    assert_eq!((record.seq, record.status), (1, Status::Running));
    assert_eq!(record.state.as_deref(), Some(&b"over-tls after 0"[..]));
    let (all, encrypted) = sayiir_connections_use_tls(&cluster.admin_url(), name).await;
    assert!(all >= 2, "the pool and the listener are connected: {all}");
    assert_eq!(encrypted, all, "every connection of the store uses TLS");

    // `verify-full` against the CA that signed the server's certificate, by a name it lists.
    let verified = PgStore::connect(&verify_full(port, name, &tls.ca))
        .await
        .unwrap();
    assert_eq!(verified.load(&id("over-tls")).await.unwrap().seq, 1);

    // Another CA: the certificate does not verify. Not an I/O error (which would say the
    // server is unreachable and retryable), and no password in the message.
    let err = PgStore::connect(&verify_full(port, name, &tls.other_ca))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Connect { .. }), "{err:?}");
    assert!(!err.is_retryable());
    let text = err.to_string();
    assert!(
        text.contains("certificate could not be verified"),
        "the message must say why: {text}"
    );
    assert!(text.contains("sslrootcert"), "and what to do: {text}");
    assert!(!text.contains(PASSWORD), "the password leaked: {text}");

    // A server without TLS: `require` refuses to go on in clear text.
    cluster.set_ssl(false).await.unwrap();
    let err = PgStore::connect(&url("127.0.0.1", port, name, "sslmode=require"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Connect { .. }), "{err:?}");
    assert!(!err.is_retryable());
    let text = err.to_string();
    assert!(text.contains("does not support TLS"), "{text}");
    assert!(text.contains("sslmode"), "{text}");
    assert!(!text.contains(PASSWORD), "the password leaked: {text}");
}

/// With TLS built in, the first message of a connection is the TLS request (`sslmode=prefer`,
/// the default): a port where something else than PostgreSQL answers (here, an HTTP server)
/// is a clear connection error, not a backend failure.
#[tokio::test]
async fn a_port_where_another_server_answers_is_a_connect_error() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = [0_u8; 8];
        let _ = socket.read(&mut request).await;
        let _ = socket
            .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            .await;
    });
    let err = PgStore::connect(&url("127.0.0.1", port, "sayiir", "sslmode=prefer"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Connect { .. }), "{err:?}");
    assert!(!err.is_retryable());
    let text = err.to_string();
    assert!(
        text.contains("does not answer as a PostgreSQL server"),
        "{text}"
    );
    assert!(!text.contains(PASSWORD), "the password leaked: {text}");
    server.await.unwrap();
}
