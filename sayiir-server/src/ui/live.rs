//! Live regions: parts of a page (`[data-live]` elements) that the page's event stream renders
//! again every second and sends, as `{"regions": {id: html}}`, when they changed.

use std::convert::Infallible;
use std::future::Future;
use std::time::Duration;

use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use maud::{Markup, html};
use serde_json::{Map, Value};
use tokio::sync::broadcast;

use crate::error::ApiError;

/// How often a stream renders its regions again.
pub(crate) const PERIOD: Duration = Duration::from_secs(1);

/// The regions of a page, by element id.
pub(crate) type Regions = Vec<(&'static str, Markup)>;

/// Region `id` of a page: a `[data-live]` element that the stream replaces.
pub(crate) fn region(id: &'static str, body: Markup) -> Markup {
    html! { div id=(id) data-live { (body) } }
}

/// The region `id` of `regions`, or nothing.
pub(crate) fn take(regions: &mut Regions, id: &str) -> Markup {
    match regions.iter().position(|(i, _)| *i == id) {
        Some(at) => {
            let (id, body) = regions.remove(at);
            region(id, body)
        }
        None => html! {},
    }
}

/// After a wake-up, how long to wait for the ones that follow it (one render for a burst).
const COALESCE: Duration = Duration::from_millis(100);

/// Waits [`PERIOD`], or less when the store hints that something changed (an instance
/// created or signalled: `Store::wakeups`, which PostgreSQL gives).
async fn pause(wakeups: &mut Option<broadcast::Receiver<()>>) {
    let Some(rx) = wakeups else {
        tokio::time::sleep(PERIOD).await;
        return;
    };
    match tokio::time::timeout(PERIOD, rx.recv()).await {
        Err(_) => {}
        Ok(Ok(())) | Ok(Err(broadcast::error::RecvError::Lagged(_))) => {
            tokio::time::sleep(COALESCE).await;
            while rx.try_recv().is_ok() {}
        }
        Ok(Err(broadcast::error::RecvError::Closed)) => {
            *wakeups = None;
            tokio::time::sleep(PERIOD).await;
        }
    }
}

/// An event stream of what `render` gives, every [`PERIOD`] and after the store's wake-ups
/// (`wakeups`: the store's, `Store::wakeups`), sent when it changed (the first one always: the page may have been
/// rendered a while before it connected). An error is sent as a `problem` event (the page
/// shows it) and the stream goes on.
pub(crate) fn stream<F, Fut>(
    wakeups: Option<broadcast::Receiver<()>>,
    render: F,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>>
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = Result<Regions, ApiError>> + Send,
{
    let events = futures_util::stream::unfold(
        (render, None::<String>, true, wakeups),
        |(mut render, mut last, mut first, mut wakeups)| async move {
            loop {
                if !first {
                    pause(&mut wakeups).await;
                }
                first = false;
                let (name, data) = match render().await {
                    Ok(regions) => {
                        let mut map = Map::new();
                        for (id, body) in regions {
                            map.insert(id.to_owned(), Value::String(body.into_string()));
                        }
                        let mut doc = Map::new();
                        doc.insert("regions".into(), Value::Object(map));
                        ("regions", Value::Object(doc).to_string())
                    }
                    Err(e) => ("problem", e.message),
                };
                if last.as_deref() == Some(data.as_str()) {
                    continue;
                }
                last = Some(data.clone());
                let event = Event::default().event(name).data(data);
                return Some((Ok(event), (render, last, first, wakeups)));
            }
        },
    );
    Sse::new(events).keep_alive(KeepAlive::default())
}
