//! Tracing across processes and the spans' names.
//!
//! With the `otel` feature, the trace context of whoever starts (or restarts) an instance —
//! the W3C `traceparent` of the current span, and its `tracestate` — is stored with the
//! instance ([`current`], written by creations and restarts); a worker parses it once per
//! claim ([`Parent::parse`]) and makes it the parent of every span it opens for the instance
//! ([`Parent::adopt`]: `sayiir.instance`, `sayiir.transition`, `sayiir.task`). So one trace shows
//! the whole life of an instance, whichever processes ran it and however often they died.
//! Without the feature nothing of OpenTelemetry is compiled in: nothing is captured and spans
//! keep their local parents.
//!
//! The stored text is the `traceparent` header's value, then a line feed and the `tracestate`
//! header's value when it is not empty (neither value can hold a line feed).

#[cfg(feature = "otel")]
mod otel;

/// A `debug` span named `sayiir.store.<op>` around a store operation: free when no subscriber
/// wants it (the span is disabled, nothing is allocated).
macro_rules! store_span {
    ($op:literal) => {
        ::tracing::debug_span!(concat!("sayiir.store.", $op))
    };
}
pub(crate) use store_span;

/// The trace context of the current span as it is stored (see the module's doc), or `None`:
/// without the `otel` feature, or when the current span is in no valid trace.
pub(crate) fn current() -> Option<String> {
    #[cfg(feature = "otel")]
    {
        otel::current()
    }
    #[cfg(not(feature = "otel"))]
    {
        None
    }
}

/// A stored trace context, parsed: the parent of the spans of one claim of an instance.
/// Cheap to clone (with the `otel` feature, an `opentelemetry::Context`, which is reference
/// counted; without it, nothing).
#[derive(Clone, Default)]
pub(crate) struct Parent {
    #[cfg(feature = "otel")]
    cx: Option<opentelemetry::Context>,
}

impl Parent {
    /// Parses a stored trace context (`None`, or text that is no valid W3C trace context,
    /// gives no parent).
    pub(crate) fn parse(stored: Option<&str>) -> Self {
        #[cfg(feature = "otel")]
        {
            Self {
                cx: stored.and_then(otel::parse),
            }
        }
        #[cfg(not(feature = "otel"))]
        {
            let _ = stored;
            Self {}
        }
    }

    /// Makes `span` a child of the stored context, when there is one and a subscriber wants
    /// the span. Call it before the span is first entered.
    pub(crate) fn adopt(&self, span: &tracing::Span) {
        #[cfg(feature = "otel")]
        if let Some(cx) = &self.cx
            && !span.is_disabled()
        {
            otel::adopt(span, cx.clone());
        }
        #[cfg(not(feature = "otel"))]
        let _ = span;
    }
}
