//! Attribute options: `#[task(name = "x", retries = 3, timeout = "30s")]`,
//! `#[workflow(name = "x", version = 2)]`, and `crate = path` on both.

use proc_macro2::TokenStream;
use quote::quote;
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::{Expr, ExprLit, Ident, Lit, LitStr, Token};

use crate::diag::Diagnostics;

/// One `key = value` as written.
pub(crate) struct RawOption {
    pub(crate) key: Ident,
    pub(crate) value: Expr,
}

/// Parses the attribute's argument list.
pub(crate) fn parse_raw(args: TokenStream) -> syn::Result<Vec<RawOption>> {
    let parser = |input: ParseStream<'_>| {
        let mut out = Vec::new();
        while !input.is_empty() {
            let key = Ident::parse_any(input)?;
            if !input.peek(Token![=]) {
                return Err(syn::Error::new(
                    key.span(),
                    format_args!("expected `{key} = ...`: every option takes a value"),
                ));
            }
            input.parse::<Token![=]>()?;
            let value: Expr = input.parse()?;
            out.push(RawOption { key, value });
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        Ok(out)
    };
    parser.parse2(args)
}

/// Checks keys against the accepted set and reports unknown and repeated keys.
pub(crate) fn check_keys<'a>(
    raw: &'a [RawOption],
    attr: &str,
    accepted: &[&str],
    diag: &mut Diagnostics,
) -> Vec<&'a RawOption> {
    let mut seen: Vec<&RawOption> = Vec::new();
    for opt in raw {
        let key = opt.key.to_string();
        if !accepted.contains(&key.as_str()) {
            let list = accepted
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ");
            diag.error(
                opt.key.span(),
                format_args!("unknown `#[{attr}]` option `{key}`; expected one of {list}"),
            );
        } else if let Some(first) = seen.iter().find(|o| o.key == opt.key) {
            diag.error(
                opt.key.span(),
                format_args!("duplicate `#[{attr}]` option `{key}`"),
            );
            diag.error(first.key.span(), format_args!("`{key}` is first set here"));
        } else {
            seen.push(opt);
        }
    }
    seen
}

/// A string literal value.
pub(crate) fn lit_str(opt: &RawOption, diag: &mut Diagnostics) -> Option<LitStr> {
    match &opt.value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Some(s.clone()),
        other => {
            diag.error_spanned(
                other,
                format_args!(
                    "`{}` takes a string literal, e.g. `{} = \"...\"`",
                    opt.key, opt.key
                ),
            );
            None
        }
    }
}

/// An unsigned integer literal value within `min..=max`.
pub(crate) fn lit_u32(opt: &RawOption, min: u32, max: u32, diag: &mut Diagnostics) -> Option<u32> {
    let Expr::Lit(ExprLit {
        lit: Lit::Int(i), ..
    }) = &opt.value
    else {
        diag.error_spanned(
            &opt.value,
            format_args!(
                "`{}` takes an integer literal, e.g. `{} = {min}`",
                opt.key, opt.key
            ),
        );
        return None;
    };
    match i.base10_parse::<u32>() {
        Ok(v) if (min..=max).contains(&v) => Some(v),
        _ => {
            diag.error(
                i.span(),
                format_args!("`{}` must be an integer from {min} to {max}", opt.key),
            );
            None
        }
    }
}

/// A `true` / `false` literal.
pub(crate) fn lit_bool(opt: &RawOption, diag: &mut Diagnostics) -> Option<bool> {
    if let Expr::Lit(ExprLit {
        lit: Lit::Bool(b), ..
    }) = &opt.value
    {
        return Some(b.value);
    }
    diag.error_spanned(
        &opt.value,
        format_args!(
            "`{}` takes `true` or `false`, e.g. `{} = true`",
            opt.key, opt.key
        ),
    );
    None
}

/// A stable name: non-empty, at most 128 bytes of `[A-Za-z0-9_.:-]`.
pub(crate) fn stable_name(opt: &RawOption, diag: &mut Diagnostics) -> Option<String> {
    let lit = lit_str(opt, diag)?;
    let v = lit.value();
    let ok = !v.is_empty()
        && v.len() <= 128
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.:-".contains(c));
    if ok {
        Some(v)
    } else {
        diag.error(
            lit.span(),
            "a name must be 1 to 128 characters from `A-Z a-z 0-9 _ . : -`; it identifies stored instances, so choose it once",
        );
        None
    }
}

/// The `crate = path` option: where the generated code finds `sayiir`.
pub(crate) fn crate_path(opt: &RawOption, diag: &mut Diagnostics) -> Option<syn::Path> {
    match &opt.value {
        Expr::Path(p) if p.qself.is_none() => Some(p.path.clone()),
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => match s.parse::<syn::Path>() {
            Ok(p) => Some(p),
            Err(_) => {
                diag.error(s.span(), "`crate` takes a path, e.g. `crate = my_sayiir`");
                None
            }
        },
        other => {
            diag.error_spanned(other, "`crate` takes a path, e.g. `crate = my_sayiir`");
            None
        }
    }
}

/// The path generated code uses for `sayiir`.
pub(crate) fn sayiir_path(custom: Option<&syn::Path>) -> TokenStream {
    match custom {
        Some(p) => quote!(#p),
        None => quote!(::sayiir),
    }
}

/// A duration option (`timeout`, `backoff`, `max_backoff`) in milliseconds.
///
/// The grammar is `humantime`'s: one or more spans, each a number (integer or decimal) and a
/// unit, optionally separated by spaces — `"30s"`, `"1h 30m"`, `"1.5s"`, `"250ms"`,
/// `"2 days"`. The units are those of [`humantime::parse_duration`]; a month is 30.44 days and
/// a year 365.25 days. The result must be more than zero and a whole number of milliseconds
/// (stored times have millisecond precision).
pub(crate) fn duration_ms(opt: &RawOption, diag: &mut Diagnostics) -> Option<u64> {
    let lit = lit_str(opt, diag)?;
    match parse_duration_ms(&lit.value()) {
        Ok(0) => {
            diag.error(
                lit.span(),
                format_args!("`{}` must be greater than zero", opt.key),
            );
            None
        }
        Ok(ms) => Some(ms),
        Err(why) => {
            diag.error(
                lit.span(),
                format_args!(
                    "invalid duration `{}`: {why}; write numbers with units, e.g. `\"30s\"`, `\"1h 30m\"`, `\"1.5s\"` or `\"2 days\"`",
                    lit.value()
                ),
            );
            None
        }
    }
}

/// Parses a duration (`humantime`'s grammar) into whole milliseconds.
pub(crate) fn parse_duration_ms(text: &str) -> Result<u64, String> {
    use humantime::DurationError as E;
    let at = |offset: usize| text.get(offset..).unwrap_or_default().trim_end();
    let d = humantime::parse_duration(text).map_err(|e| match e {
        E::Empty => "it is empty".to_string(),
        E::InvalidCharacter(offset) => format!("unexpected character at `{}`", at(offset)),
        E::NumberExpected(offset) => format!("expected a number at `{}`", at(offset)),
        E::UnknownUnit { unit, value, .. } if unit.is_empty() => {
            format!("`{value}` has no unit")
        }
        E::UnknownUnit { unit, .. } => format!("unknown unit `{unit}`"),
        E::NumberOverflow => "it is too long, or finer than a nanosecond".to_string(),
    })?;
    if d.subsec_nanos() % 1_000_000 != 0 {
        return Err(
            "it is not a whole number of milliseconds (stored times are in milliseconds)".into(),
        );
    }
    u64::try_from(d.as_millis()).map_err(|_| "it is too long".to_string())
}

/// `on_exhausted = "park" | "fail"` (of `#[task]` and `#[workflow]`): `Some(true)` for park.
pub(crate) fn on_exhausted(opt: &RawOption, diag: &mut Diagnostics) -> Option<bool> {
    let lit = lit_str(opt, diag)?;
    match lit.value().as_str() {
        "park" => Some(true),
        "fail" => Some(false),
        other => {
            diag.error(
                lit.span(),
                format_args!(
                    "`on_exhausted = \"{other}\"` is not a policy: write \"park\" (the instance waits for an operator to retry, fail or cancel it) or \"fail\" (the error is returned to the workflow, the default)"
                ),
            );
            None
        }
    }
}

/// The `OnExhausted` value of a parsed `on_exhausted` option.
pub(crate) fn on_exhausted_tokens(park: bool, p: &TokenStream) -> TokenStream {
    if park {
        quote::quote!(#p::OnExhausted::Park)
    } else {
        quote::quote!(#p::OnExhausted::Fail)
    }
}

/// A rate `"N/s"`, `"N/m"` or `"N/h"` (N from 1 to 1,000,000): the interval between two
/// starts, in microseconds (at least 1).
pub(crate) fn rate_interval_us(opt: &RawOption, diag: &mut Diagnostics) -> Option<u64> {
    let lit = lit_str(opt, diag)?;
    let v = lit.value();
    let parsed = v.split_once('/').and_then(|(n, unit)| {
        let n: u64 = n
            .trim()
            .parse()
            .ok()
            .filter(|n| (1..=1_000_000).contains(n))?;
        let period_us: u64 = match unit.trim() {
            "s" => 1_000_000,
            "m" => 60_000_000,
            "h" => 3_600_000_000,
            _ => return None,
        };
        Some((period_us / n).max(1))
    });
    if parsed.is_none() {
        diag.error(
            lit.span(),
            format_args!(
                "`rate = \"{v}\"` is not a rate: write a count from 1 to 1000000 per second, minute or hour, e.g. `rate = \"100/s\"`, `\"30/m\"` or `\"500/h\"`"
            ),
        );
    }
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration_ms("30s"), Ok(30_000));
        assert_eq!(parse_duration_ms("1m30s"), Ok(90_000));
        assert_eq!(parse_duration_ms("250ms"), Ok(250));
        assert_eq!(parse_duration_ms("1d2h"), Ok(93_600_000));
        assert_eq!(parse_duration_ms("1h 30m"), Ok(5_400_000));
        assert_eq!(parse_duration_ms("1.5s"), Ok(1_500));
        assert_eq!(parse_duration_ms("2 days"), Ok(172_800_000));
        assert_eq!(parse_duration_ms("30 seconds"), Ok(30_000));
        assert_eq!(parse_duration_ms("1 week"), Ok(604_800_000));
        assert_eq!(parse_duration_ms(" 5min "), Ok(300_000));
        assert_eq!(parse_duration_ms("0s"), Ok(0));
        let err = |t: &str| parse_duration_ms(t).unwrap_err();
        assert_eq!(err(""), "it is empty");
        assert_eq!(err("30"), "`30` has no unit");
        assert_eq!(err("s"), "expected a number at `s`");
        assert_eq!(err("5x"), "unknown unit `x`");
        assert_eq!(err("30 secondz"), "unknown unit `secondz`");
        assert_eq!(err("1,5s"), "unexpected character at `,5s`");
        assert!(err("1.5ms").contains("whole number of milliseconds"));
        assert!(err("10us").contains("whole number of milliseconds"));
        assert!(err("99999999999999999999s").contains("too long"));
    }

    #[test]
    fn raw_options_and_keys() {
        let raw = parse_raw(quote!(
            name = "a",
            retries = 3,
            crate = my::path,
            retries = 4
        ))
        .unwrap();
        assert_eq!(raw.len(), 4);
        let mut diag = Diagnostics::new();
        let kept = check_keys(&raw, "task", &["name", "retries", "crate"], &mut diag);
        assert_eq!(kept.len(), 3);
        assert!(diag.has_errors());
        let mut diag = Diagnostics::new();
        check_keys(&raw[..1], "task", &["retries"], &mut diag);
        let msg = diag.finish().unwrap_err().to_string();
        assert!(msg.contains("unknown `#[task]` option `name`"), "{msg}");
        assert!(parse_raw(quote!(retries)).is_err());
    }
}
