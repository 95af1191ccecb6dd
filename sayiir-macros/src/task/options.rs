//! `#[task(...)]` options: retries, timeout, backoff, on_exhausted, concurrency, rate, burst,
//! per_key, name, crate path.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote};
use syn::spanned::Spanned;

use crate::diag::Diagnostics;
use crate::options::{self, RawOption};

/// Validated `#[task(...)]` options.
pub(crate) struct TaskOptions {
    pub(super) name: Option<String>,
    pub(super) retries: u32,
    pub(super) timeout_ms: Option<u64>,
    /// Where `timeout` is written (a task with a timeout must return `Result`).
    pub(super) timeout_key: Option<Span>,
    pub(super) backoff_ms: Option<u64>,
    pub(super) max_backoff_ms: Option<u64>,
    /// `on_exhausted`: `Some(true)` for "park", `Some(false)` for "fail".
    pub(super) on_exhausted: Option<bool>,
    /// `concurrency`: at most this many attempts at once, across all workers.
    pub(super) concurrency: Option<u32>,
    /// `rate`: the interval between two starts, in microseconds.
    pub(super) rate_us: Option<u64>,
    /// `burst`: starts that may fall at one instant (needs `rate`).
    pub(super) burst: Option<u32>,
    /// `per_key`: the limits apply to each concurrency key apart.
    pub(super) per_key: bool,
    pub(super) krate: Option<syn::Path>,
}

const TASK_OPTIONS: [&str; 11] = [
    "name",
    "retries",
    "timeout",
    "backoff",
    "max_backoff",
    "on_exhausted",
    "concurrency",
    "rate",
    "burst",
    "per_key",
    "crate",
];

impl TaskOptions {
    pub(super) fn parse(args: TokenStream, diag: &mut Diagnostics) -> Self {
        let mut out = Self {
            name: None,
            retries: 0,
            timeout_ms: None,
            timeout_key: None,
            backoff_ms: None,
            max_backoff_ms: None,
            on_exhausted: None,
            concurrency: None,
            rate_us: None,
            burst: None,
            per_key: false,
            krate: None,
        };
        let raw: Vec<RawOption> = match options::parse_raw(args) {
            Ok(r) => r,
            Err(e) => {
                diag.push(e);
                return out;
            }
        };
        let mut backoff_opts: Vec<&RawOption> = Vec::new();
        let mut burst_key = None;
        let mut per_key_at = None;
        let mut has_rate = false;
        for opt in options::check_keys(&raw, "task", &TASK_OPTIONS, diag) {
            match opt.key.to_string().as_str() {
                "name" => out.name = options::stable_name(opt, diag),
                "retries" => out.retries = options::lit_u32(opt, 0, 10_000, diag).unwrap_or(0),
                "timeout" => {
                    out.timeout_key = Some(opt.key.span());
                    out.timeout_ms = options::duration_ms(opt, diag);
                }
                "backoff" => {
                    out.backoff_ms = options::duration_ms(opt, diag);
                    backoff_opts.push(opt);
                }
                "max_backoff" => {
                    out.max_backoff_ms = options::duration_ms(opt, diag);
                    backoff_opts.push(opt);
                }
                "on_exhausted" => out.on_exhausted = options::on_exhausted(opt, diag),
                "concurrency" => out.concurrency = options::lit_u32(opt, 1, 1_000_000, diag),
                "rate" => {
                    has_rate = true;
                    out.rate_us = options::rate_interval_us(opt, diag);
                }
                "burst" => {
                    out.burst = options::lit_u32(opt, 1, 1_000_000, diag);
                    burst_key = Some(opt.key.span());
                }
                "per_key" => {
                    out.per_key = options::lit_bool(opt, diag).unwrap_or(false);
                    per_key_at = Some(opt.key.span());
                }
                _ => out.krate = options::crate_path(opt, diag),
            }
        }
        if let (Some(span), false) = (burst_key, has_rate) {
            diag.error(
                span,
                "`burst` is how many starts of a rate limit may fall at one instant, but this task has no `rate`: add `rate = \"N/s\"` or remove `burst`",
            );
        }
        if let (Some(span), false) = (per_key_at, has_rate || out.concurrency.is_some()) {
            diag.error(
                span,
                "`per_key` applies this task's `concurrency` and `rate` to each concurrency key apart, but this task has neither: add one or remove `per_key`",
            );
        }
        if out.retries == 0 {
            for opt in &backoff_opts {
                diag.error(
                    opt.key.span(),
                    format_args!(
                        "`{}` sets the delay between attempts, but this task is not retried: add `retries = N` (N >= 1) or remove `{}`",
                        opt.key, opt.key
                    ),
                );
            }
        }
        if let (Some(b), Some(m)) = (out.backoff_ms, out.max_backoff_ms)
            && m < b
        {
            let written = |key: &str| {
                backoff_opts
                    .iter()
                    .find(|o| o.key == key)
                    .map(|o| (o.value.to_token_stream().to_string(), o.value.span()))
            };
            if let (Some((b, _)), Some((m, span))) = (written("backoff"), written("max_backoff")) {
                diag.error(
                    span,
                    format_args!(
                        "`max_backoff = {m}` is shorter than `backoff = {b}`: the delay between attempts starts at `backoff` and doubles up to `max_backoff`"
                    ),
                );
            }
        }
        out
    }

    /// The `TaskOptions` constant of the task.
    pub(super) fn tokens(&self, p: &TokenStream) -> TokenStream {
        let retries = self.retries;
        let timeout = match self.timeout_ms {
            Some(ms) => quote!(#p::Option::Some(#p::Duration::from_millis(#ms))),
            None => quote!(#p::Option::None),
        };
        let backoff = self
            .backoff_ms
            .map(|ms| quote!(backoff: #p::Duration::from_millis(#ms),));
        let max_backoff = self
            .max_backoff_ms
            .map(|ms| quote!(max_backoff: #p::Duration::from_millis(#ms),));
        let on_exhausted = self.on_exhausted.map(|park| {
            let value = options::on_exhausted_tokens(park, p);
            quote!(on_exhausted: #value,)
        });
        let concurrency = self
            .concurrency
            .map(|n| quote!(concurrency: #p::NonZeroU32::new(#n),));
        let rate = self.rate_us.map(|us| {
            let burst = self.burst.unwrap_or(1);
            quote!(rate: #p::Option::Some(#p::TaskRate {
                interval: #p::Duration::from_micros(#us),
                burst: #burst,
            }),)
        });
        let per_key = self.per_key.then(|| quote!(per_key: true,));
        quote! {
            #p::TaskOptions {
                retries: #retries,
                timeout: #timeout,
                #backoff
                #max_backoff
                #on_exhausted
                #concurrency
                #rate
                #per_key
                ..#p::TaskOptions::DEFAULT
            }
        }
    }
}
