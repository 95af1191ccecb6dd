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

/// A duration option such as `"30s"`, `"1m30s"` or `"250ms"`, in milliseconds.
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
                    "invalid duration `{}`: {why}; write numbers with units `ms`, `s`, `m`, `h` or `d`, e.g. `\"30s\"` or `\"1m30s\"`",
                    lit.value()
                ),
            );
            None
        }
    }
}

/// Parses `<number><unit>` groups (`ms`, `s`, `m`, `h`, `d`) into milliseconds.
pub(crate) fn parse_duration_ms(text: &str) -> Result<u64, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("it is empty".into());
    }
    let mut total: u64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(format!("expected a number at `{rest}`"));
        }
        let number: u64 = rest[..digits]
            .parse()
            .map_err(|_| "the number is too large".to_string())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = rest[..unit_len].trim();
        let factor = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "" => return Err(format!("`{number}` has no unit")),
            other => return Err(format!("unknown unit `{other}`")),
        };
        rest = &rest[unit_len..];
        total = number
            .checked_mul(factor)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| "it is too long".to_string())?;
    }
    Ok(total)
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
        assert!(parse_duration_ms("").is_err());
        assert!(parse_duration_ms("30").is_err());
        assert!(parse_duration_ms("s").is_err());
        assert!(parse_duration_ms("5x").is_err());
        assert!(parse_duration_ms("1.5s").is_err());
        assert!(parse_duration_ms("99999999999999999999s").is_err());
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
