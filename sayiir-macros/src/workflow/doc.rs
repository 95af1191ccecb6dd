//! Stage 4: the doc comment of the workflow's type (`struct checkout {}`): what the macro knows
//! of the definition — name, version, input and output, every state with its stable id, what it
//! waits for and the values it carries with their types — so that `cargo doc` shows what an
//! instance stores.

use proc_macro2::{Spacing, TokenStream, TokenTree};
use quote::ToTokens;

use super::ir::{Body, Call, Suspension};
use super::lower::{Field, Lowered};
use super::parse::WorkflowFn;
use super::types::{Base, FieldTy, Proj};

/// The doc comment, as markdown.
pub(crate) fn doc(wf: &WorkflowFn, body: &Body, l: &Lowered) -> String {
    let ident = &wf.ident;
    let mut out = format!(
        "The workflow `{}`, version {}: the type `#[sayiir::workflow]` made from the function \
         `{ident}`. Register it with `EngineBuilder::register::<{ident}>()` and start instances \
         with `engine.start::<{ident}>(id, input)`.\n\n",
        wf.name, wf.version
    );
    out += &format!("- **Input**: `{}`\n", input_text(wf));
    out += &format!("- **Output**: `{}`\n", text(&wf.output));
    out += &format!(
        "- **Definition hash**: `{ident}::DEFINITION_HASH`, blake3 over this definition's \
         canonical encoding (name, version, types, states, the structure around each `.await`) \
         and the signature hashes of what it calls{}. It is combined in const evaluation, after \
         this documentation is written, so its hex form is shown by `Engine::status`, the lock \
         file and version-mismatch errors rather than here.\n",
        callees_text(l)
    );
    out += "\n# States\n\nEach state is named by its stable id (the lock file's and \
            migrations' name for it) and stores the values listed, the types as the macro \
            knows them.\n\n";
    out += &format!(
        "- `start`: before the first transition; {}\n",
        carried(&l.start, body)
    );
    for (point, state) in body.points.iter().zip(&l.states) {
        out += &format!(
            "- `{}`: waits for {}; {}\n",
            state.id,
            waits_for(&point.what),
            carried(&state.fields, body)
        );
    }
    out
}

fn input_text(wf: &WorkflowFn) -> String {
    match wf.params.as_slice() {
        [] => "()".into(),
        [one] => text(&one.ty),
        many => format!(
            "({})",
            many.iter()
                .map(|p| text(&p.ty))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn callees_text(l: &Lowered) -> String {
    if l.callees.is_empty() {
        return String::new();
    }
    let names: Vec<String> = l.callees.iter().map(|c| format!("`{}`", text(c))).collect();
    format!(" ({})", names.join(", "))
}

fn carried(fields: &[Field], body: &Body) -> String {
    if fields.is_empty() {
        return "carries nothing".into();
    }
    let list: Vec<String> = fields
        .iter()
        .map(|f| {
            let name = f.ident.to_string();
            if name.starts_with("__sayiir") {
                field_ty(&f.ty, body)
            } else {
                format!("`{name}`: {}", field_ty(&f.ty, body))
            }
        })
        .collect();
    format!("carries {}", list.join(", "))
}

fn call_text(c: &Call) -> String {
    match c.first_literal() {
        Some(name)
            if c.callee
                .segments
                .last()
                .is_some_and(|s| s.ident == "signal") =>
        {
            let timeout = if c.timeout.is_some() {
                " with a timeout"
            } else {
                ""
            };
            format!("the signal `\"{}\"`{timeout}", name.value())
        }
        _ => format!("`{}`", text(&c.callee)),
    }
}

fn waits_for(what: &Suspension) -> String {
    match what {
        Suspension::Call(c) => call_text(c),
        Suspension::Continue(_) => "`continue_as_new`".into(),
        Suspension::Join { calls, try_, .. } => format!(
            "`{}!({})`",
            if *try_ { "try_join" } else { "join" },
            calls
                .iter()
                .map(|c| text(&c.callee))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Suspension::JoinAll { call, try_, .. } => format!(
            "`{}` of `{}` calls",
            if *try_ { "try_join_all" } else { "join_all" },
            text(&call.callee)
        ),
    }
}

/// A stored value's type in words: as written where it is written, otherwise where it comes
/// from (the macro names such types by the expression, rustc resolves them).
fn field_ty(t: &FieldTy, body: &Body) -> String {
    let mut out = match &t.base {
        Base::Written(ty) => format!("`{}`", text(ty)),
        Base::Point(k) => match body.points.get(*k) {
            Some(p) => format!("what {} yields", waits_for(&p.what)),
            None => "a value".into(),
        },
        Base::Count => "a loop's iteration count (`u64`)".into(),
        Base::ForIter(item) => format!(
            "the items a `for` loop has yet to visit (each {})",
            field_ty(item, body)
        ),
        Base::Apply(g, args) => {
            let name = g.name();
            let args: Vec<String> = args.iter().map(|a| field_ty(a, body)).collect();
            format!("`{name}` of {}", args.join(", "))
        }
        Base::Tuple(items) => {
            let items: Vec<String> = items.iter().map(|a| field_ty(a, body)).collect();
            format!("a tuple of {}", items.join(", "))
        }
        Base::Op(op, l, r) => format!(
            "the output of `{op}` on {} and {}",
            field_ty(l, body),
            field_ty(r, body)
        ),
    };
    for proj in &t.proj {
        out = match proj {
            Proj::Ok => format!("the success value of {out}"),
            Proj::Err => format!("the error of {out}"),
            Proj::Item => format!("an item of {out}"),
            Proj::Field(i) => format!("field `.{i}` of {out}"),
        };
    }
    out
}

/// Tokens as a person writes them: `Vec<u8>`, `Result<Order, String>`, `&'static str`.
pub(crate) fn text(t: &impl ToTokens) -> String {
    let mut out = String::new();
    write_tokens(&mut out, t.to_token_stream());
    out
}

fn write_tokens(out: &mut String, ts: TokenStream) {
    let mut prev_word = false;
    let mut prev_joint = false;
    for tt in ts {
        match tt {
            TokenTree::Ident(i) => {
                if prev_word {
                    out.push(' ');
                }
                out.push_str(&i.to_string());
                prev_word = true;
                prev_joint = false;
            }
            TokenTree::Literal(l) => {
                if prev_word {
                    out.push(' ');
                }
                out.push_str(&l.to_string());
                prev_word = true;
                prev_joint = false;
            }
            TokenTree::Punct(p) => {
                let c = p.as_char();
                match c {
                    ',' | ';' => out.push_str(&format!("{c} ")),
                    '+' | '=' => out.push_str(&format!(" {c} ")),
                    '-' if p.spacing() == Spacing::Joint => out.push_str(" -"),
                    '>' if prev_joint && out.ends_with('-') => out.push_str("> "),
                    '>' => {
                        if out.ends_with(", ") {
                            out.pop();
                        }
                        out.push(c);
                    }
                    _ => out.push(c),
                }
                // `'a` is a punct and an ident: no space between them, one after.
                prev_word = false;
                prev_joint = p.spacing() == Spacing::Joint;
            }
            TokenTree::Group(g) => {
                let (open, close) = match g.delimiter() {
                    proc_macro2::Delimiter::Parenthesis => ("(", ")"),
                    proc_macro2::Delimiter::Bracket => ("[", "]"),
                    proc_macro2::Delimiter::Brace => ("{ ", " }"),
                    proc_macro2::Delimiter::None => ("", ""),
                };
                if prev_word && open == "{ " {
                    out.push(' ');
                }
                out.push_str(open);
                write_tokens(out, g.stream());
                out.push_str(close);
                prev_word = false;
                prev_joint = false;
            }
        }
    }
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{lowered, options};
    use super::*;
    use quote::quote;
    use syn::parse_quote;

    #[test]
    fn lists_every_state_with_what_it_carries() {
        let (wf, body, l, r) = lowered(
            parse_quote! {
                pub async fn checkout(order: Order, note: String) -> Result<String, E> {
                    let order = validate(order).await?;
                    let cents = charge(order.clone()).await?;
                    let ok: Approval = sayiir::signal("approval")
                        .timeout(Duration::from_secs(60))
                        .await
                        .map_err(|_| E::Late)?;
                    let (a, b) = sayiir::join!(quote(cents), quote(cents + 1)).await;
                    let items: Vec<Item> = order.items;
                    for item in items {
                        ship(item, note.clone()).await;
                    }
                    Ok(format!("{} {a:?} {b:?}", ok.by))
                }
            },
            &options(Some("shop.checkout"), 3),
        );
        assert!(r.is_ok(), "{r:?}");
        let doc = doc(&wf, &body, &l);
        let expected = [
            "The workflow `shop.checkout`, version 3: the type `#[sayiir::workflow]` made from the function `checkout`.",
            "- **Input**: `(Order, String)`",
            "- **Output**: `Result<String, E>`",
            "what it calls (`validate`, `charge`, `sayiir::signal`, `quote`, `ship`)",
            "- `start`: before the first transition; carries `order`: `Order`, `note`: `String`",
            "- `validate#1`: waits for `validate`; carries `note`: `String`",
            "- `charge#1`: waits for `charge`; carries `note`: `String`, `order`: the success value of what `validate` yields",
            "- `signal:approval#1`: waits for the signal `\"approval\"` with a timeout; carries `note`: `String`, `order`: the success value of what `validate` yields, `cents`: the success value of what `charge` yields",
            "- `join(quote,quote)#1`: waits for `join!(quote, quote)`; carries `note`: `String`, `order`: the success value of what `validate` yields, `ok`: `Approval`",
            "- `ship#1`: waits for `ship`; carries `note`: `String`, `ok`: `Approval`, `a`: field `.0` of what `join!(quote, quote)` yields, `b`: field `.1` of what `join!(quote, quote)` yields, a loop's iteration count (`u64`), the items a `for` loop has yet to visit (each an item of `Vec<Item>`)",
        ];
        for line in expected {
            assert!(doc.contains(line), "missing {line:?} in:\n{doc}");
        }
    }

    #[test]
    fn types_read_as_written() {
        let ty: syn::Type = parse_quote!(Result<Vec<(u8, &'static str)>, Box<dyn Error + Send>>);
        assert_eq!(
            text(&ty),
            "Result<Vec<(u8, &'static str)>, Box<dyn Error + Send>>"
        );
        let ty: syn::Type = parse_quote!(fn([u8; 4]) -> Option<u32>);
        assert_eq!(text(&ty), "fn([u8; 4]) -> Option<u32>");
        assert_eq!(text(&quote!(a::b::C<T,>)), "a::b::C<T,>");
        assert_eq!(text(&quote!(HashMap<K, V>)), "HashMap<K, V>");
    }

    /// The macro's output puts the doc on the workflow's type (not on the function, whose doc
    /// comments stay the user's).
    #[test]
    fn the_type_carries_the_doc() {
        let code = super::super::expand(
            quote!(version = 2),
            quote! {
                /// Mine.
                pub async fn flow(x: u64) -> u64 {
                    double(x).await
                }
            },
        );
        let file: syn::File = syn::parse2(code).unwrap();
        let doc_of = |item: &syn::Item| -> Vec<String> {
            let attrs = match item {
                syn::Item::Struct(s) => &s.attrs,
                syn::Item::Fn(f) => &f.attrs,
                _ => return Vec::new(),
            };
            attrs
                .iter()
                .filter(|a| a.path().is_ident("doc"))
                .map(|a| a.to_token_stream().to_string())
                .collect()
        };
        let docs: Vec<Vec<String>> = file.items.iter().map(doc_of).collect();
        let on_struct = docs
            .iter()
            .zip(&file.items)
            .find(|(_, i)| matches!(i, syn::Item::Struct(_)))
            .map(|(d, _)| d.join(""))
            .unwrap();
        assert!(
            on_struct.contains("The workflow `flow`, version 2"),
            "{on_struct}"
        );
        assert!(
            on_struct.contains("`double#1`: waits for `double`"),
            "{on_struct}"
        );
        let on_fn = docs
            .iter()
            .zip(&file.items)
            .find(|(_, i)| matches!(i, syn::Item::Fn(_)))
            .map(|(d, _)| d.join(""))
            .unwrap();
        assert!(
            on_fn.contains("Mine.") && !on_fn.contains("The workflow"),
            "{on_fn}"
        );
    }
}
