//! Wake-ups: `NOTIFY sayiir_wake` in the transactions that make an instance claimable, and a
//! background listener that turns those notifications into [`Store::wakeups`] hints.
//!
//! A notification is delivered when (and only if) its transaction commits, so a woken worker
//! sees the change. Notifications carry no payload; PostgreSQL folds the identical ones of a
//! transaction into one.
//!
//! [`Store::wakeups`]: crate::Store::wakeups

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use sqlx::PgConnection;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

/// The channel.
pub(super) const CHANNEL: &str = "sayiir_wake";

/// Hints a receiver may fall behind by before it lags (a lag is a hint too).
const CAPACITY: usize = 16;

/// Longest silence after which the listener connects again, since a connection that died
/// without the socket noticing (sqlx sets no TCP keepalive) would stop notifications without
/// an error.
const REFRESH: Duration = Duration::from_secs(60);

/// First and longest pause before the listener connects again after an error.
const BACKOFF: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(30));

/// Sends the wake-up notification on `conn`, delivered when its transaction commits.
pub(super) async fn notify(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_notify($1, '')")
        .bind(CHANNEL)
        .execute(conn)
        .await?;
    Ok(())
}

/// The wake-up hints of one store: a broadcast channel fed by a listener task, started by the
/// first subscriber and stopped when the store is dropped.
#[derive(Debug)]
pub(super) struct Wakeups {
    sender: broadcast::Sender<()>,
    /// Connection settings of the listener's own connection.
    options: PgConnectOptions,
    /// How long the listener waits for its connection before it tries again.
    connect_timeout: Duration,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Wakeups {
    pub(super) fn new(options: PgConnectOptions, connect_timeout: Duration) -> Self {
        Self {
            sender: broadcast::channel(CAPACITY).0,
            options,
            connect_timeout,
            task: Mutex::new(None),
        }
    }

    fn task(&self) -> MutexGuard<'_, Option<JoinHandle<()>>> {
        // The guarded value is a single handle, replaced in one assignment.
        self.task.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new receiver of hints, starting the listener if it is not running (it stops with the
    /// tokio runtime it was started on; the next subscriber then starts it again). `None`
    /// outside a tokio runtime.
    pub(super) fn subscribe(&self) -> Option<broadcast::Receiver<()>> {
        let mut task = self.task();
        // Subscribe first: the hint the listener sends once it listens must not be missed.
        let receiver = self.sender.subscribe();
        if task.as_ref().is_none_or(JoinHandle::is_finished) {
            let runtime = tokio::runtime::Handle::try_current().ok()?;
            *task = Some(runtime.spawn(listen(
                self.options.clone(),
                self.connect_timeout,
                self.sender.clone(),
            )));
        }
        Some(receiver)
    }
}

impl Drop for Wakeups {
    fn drop(&mut self) {
        if let Some(task) = self.task().take() {
            task.abort();
        }
    }
}

/// Listens on [`CHANNEL`] until aborted, sending a hint per notification (a burst already
/// received counts once) and one after every (re)connection, since notifications sent while
/// it was not listening are lost. Errors never end it: it connects again after a pause that
/// doubles up to [`BACKOFF`]`.1`. After [`REFRESH`] without a notification it connects again
/// at once, in case the connection died without the socket noticing.
async fn listen(
    options: PgConnectOptions,
    connect_timeout: Duration,
    sender: broadcast::Sender<()>,
) {
    // A pool of one connection, apart from the store's pool so that it never takes one of the
    // store's connections; it only serves the listener's reconnections.
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .max_lifetime(None)
        .idle_timeout(None)
        .acquire_timeout(connect_timeout)
        .connect_lazy_with(options);
    let mut backoff = BACKOFF.0;
    loop {
        let mut silent = false;
        if let Ok(mut listener) = PgListener::connect_with(&pool).await {
            listener.ignore_pool_close_event(true);
            if listener.listen(CHANNEL).await.is_ok() {
                backoff = BACKOFF.0;
                // Hints only fail when nobody subscribes; that is fine.
                let _ = sender.send(());
                loop {
                    match tokio::time::timeout(REFRESH, listener.try_recv()).await {
                        // A notification, or `None`: the connection was lost and made again
                        // (notifications may have been lost meanwhile, hence a hint).
                        Ok(Ok(notification)) => {
                            if notification.is_some() {
                                while listener.next_buffered().is_some() {}
                            }
                            let _ = sender.send(());
                        }
                        // Start over with a new listener, after a pause.
                        Ok(Err(_)) => break,
                        // Start over at once (the pool pings the connection before it reuses it).
                        Err(_) => {
                            silent = true;
                            break;
                        }
                    }
                }
            }
        }
        if !silent {
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(BACKOFF.1);
        }
    }
}
