//! The `otel` feature's part of [`super`]: W3C trace context through OpenTelemetry's
//! `TraceContextPropagator`, and parents through tracing-opentelemetry.

use opentelemetry::Context;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt;

const TRACEPARENT: &str = "traceparent";
const TRACESTATE: &str = "tracestate";

/// The two headers of the W3C trace context, as a propagator's carrier.
#[derive(Default)]
struct Headers {
    traceparent: Option<String>,
    tracestate: Option<String>,
}

impl Injector for Headers {
    fn set(&mut self, key: &str, value: String) {
        match key {
            TRACEPARENT => self.traceparent = Some(value),
            TRACESTATE => self.tracestate = Some(value),
            _ => {}
        }
    }
}

impl Extractor for Headers {
    fn get(&self, key: &str) -> Option<&str> {
        match key {
            TRACEPARENT => self.traceparent.as_deref(),
            TRACESTATE => self.tracestate.as_deref(),
            _ => None,
        }
    }

    fn keys(&self) -> Vec<&str> {
        vec![TRACEPARENT, TRACESTATE]
    }
}

/// The current span's trace context (tracing's current span, else OpenTelemetry's current
/// context), as stored; `None` when neither is in a valid trace.
pub(super) fn current() -> Option<String> {
    let mut cx = tracing::Span::current().context();
    if !cx.span().span_context().is_valid() {
        cx = Context::current();
        if !cx.span().span_context().is_valid() {
            return None;
        }
    }
    let mut headers = Headers::default();
    TraceContextPropagator::new().inject_context(&cx, &mut headers);
    let mut stored = headers.traceparent?;
    if let Some(state) = headers.tracestate.filter(|s| !s.is_empty()) {
        stored.push('\n');
        stored.push_str(&state);
    }
    Some(stored)
}

/// The context a stored trace context names, if it is a valid one.
pub(super) fn parse(stored: &str) -> Option<Context> {
    let (parent, state) = match stored.split_once('\n') {
        Some((parent, state)) => (parent, Some(state)),
        None => (stored, None),
    };
    let headers = Headers {
        traceparent: Some(parent.to_owned()),
        tracestate: state.map(str::to_owned),
    };
    let cx = TraceContextPropagator::new().extract(&headers);
    cx.span().span_context().is_valid().then_some(cx)
}

/// Makes `span` a child of `cx`.
pub(super) fn adopt(span: &tracing::Span, cx: Context) {
    // Refused only once the span's OpenTelemetry side is built (it was entered already) or
    // when no OpenTelemetry layer is installed: the span keeps its local parent then.
    let _ = span.set_parent(cx);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_stored_context_reads_back_as_it_was_written() {
        let stored = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\nvendor=a b,x=y";
        let cx = parse(stored).unwrap();
        let sc = cx.span().span_context().clone();
        assert_eq!(
            sc.trace_id().to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(sc.span_id().to_string(), "00f067aa0ba902b7");
        assert!(sc.is_sampled());
        assert!(sc.is_remote());
        assert_eq!(sc.trace_state().header(), "vendor=a b,x=y");
        let mut headers = Headers::default();
        TraceContextPropagator::new().inject_context(&cx, &mut headers);
        assert_eq!(
            headers.traceparent.as_deref(),
            stored.split_once('\n').map(|(p, _)| p)
        );
    }

    #[test]
    fn what_is_no_trace_context_gives_no_parent() {
        for bad in [
            "",
            "garbage",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        ] {
            assert!(parse(bad).is_none(), "{bad:?}");
        }
        // Outside any span there is nothing to store.
        assert_eq!(current(), None);
    }
}
