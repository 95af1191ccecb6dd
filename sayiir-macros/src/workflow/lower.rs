//! Stage 3: one state per suspension point, carrying exactly the variables that are in scope
//! there and read afterwards, each with a type the compiler can name.

use proc_macro2::Span;
use quote::ToTokens;
use syn::{Ident, Path, Stmt, Type};

use super::ir::{Body, Node, Point, Postfix};
use super::parse::WorkflowFn;
use super::vars::{self, Binding};
use crate::diag::Diagnostics;
use crate::task::unstorable;

/// The type of a stored variable.
#[derive(Clone)]
pub(crate) enum FieldTy {
    /// Written by the user (parameter or annotation).
    Written(Type),
    /// What `callee(..).await` yields.
    Return(Path),
    /// What `callee(..).await?` yields.
    Ok(Path),
}

/// A variable stored in a state.
#[derive(Clone)]
pub(crate) struct Field {
    /// The name as declared.
    pub(crate) ident: Ident,
    /// Where the continuation first reads it (for use-after-move errors in user terms).
    pub(crate) use_span: Span,
    pub(crate) ty: FieldTy,
    pub(crate) mutable: bool,
}

/// The state of one suspension point.
pub(crate) struct StateDef {
    pub(crate) variant: Ident,
    pub(crate) fields: Vec<Field>,
    /// Index into [`Lowered::callees`].
    pub(crate) callee: usize,
}

/// The lowered workflow.
pub(crate) struct Lowered {
    /// Fields of the start state: the inputs.
    pub(crate) start: Vec<Field>,
    /// One state per suspension point, in point order.
    pub(crate) states: Vec<StateDef>,
    /// Distinct callees, in order of first use.
    pub(crate) callees: Vec<Path>,
}

#[derive(Clone)]
#[allow(clippy::large_enum_variant)] // built once per binding at compile time
enum VarTy {
    Known(FieldTy),
    Unknown,
}

#[derive(Clone)]
struct Var {
    binding: Binding,
    ty: VarTy,
}

/// Variables in scope, latest declaration of each name last.
#[derive(Default, Clone)]
struct Env {
    vars: Vec<Var>,
}

impl Env {
    fn declare(&mut self, var: Var) {
        let name = var.binding.ident.to_string();
        self.vars.retain(|v| v.binding.ident != name);
        self.vars.push(var);
    }

    fn declare_pat(&mut self, pat: &syn::Pat, ty: Option<&Type>, inferred: Option<FieldTy>) {
        let mut bindings = Vec::new();
        vars::pat_bindings(pat, &mut bindings);
        let types = typed_bindings(pat, ty);
        for b in bindings {
            let ty = match (&types, &inferred) {
                (Some(t), _) => t
                    .iter()
                    .find(|(n, _)| *n == b.ident)
                    .map_or(VarTy::Unknown, |(_, t)| {
                        VarTy::Known(FieldTy::Written(t.clone()))
                    }),
                (None, Some(f)) if matches!(pat, syn::Pat::Ident(_)) => VarTy::Known(f.clone()),
                _ => VarTy::Unknown,
            };
            self.declare(Var { binding: b, ty });
        }
    }
}

/// Pairs the names of a pattern with the parts of an annotation: `x: T`, `(a, b): (A, B)`.
fn typed_bindings(pat: &syn::Pat, ty: Option<&Type>) -> Option<Vec<(Ident, Type)>> {
    let ty = ty?;
    let mut out = Vec::new();
    fn walk(pat: &syn::Pat, ty: &Type, out: &mut Vec<(Ident, Type)>) {
        match (pat, ty) {
            (syn::Pat::Ident(p), _) if p.subpat.is_none() => {
                out.push((p.ident.clone(), ty.clone()))
            }
            (syn::Pat::Tuple(pt), Type::Tuple(tt)) if pt.elems.len() == tt.elems.len() => {
                for (p, t) in pt.elems.iter().zip(&tt.elems) {
                    walk(p, t, out);
                }
            }
            (syn::Pat::Paren(p), _) => walk(&p.pat, ty, out),
            (_, Type::Paren(t)) => walk(pat, &t.elem, out),
            _ => {}
        }
    }
    walk(pat, ty, &mut out);
    Some(out)
}

fn callee_index(callees: &mut Vec<Path>, path: &Path) -> usize {
    let key = path.to_token_stream().to_string();
    if let Some(i) = callees
        .iter()
        .position(|c| c.to_token_stream().to_string() == key)
    {
        return i;
    }
    callees.push(path.clone());
    callees.len() - 1
}

/// Lowers the analyzed body.
pub(crate) fn lower(wf: &WorkflowFn, body: &Body, diag: &mut Diagnostics) -> Lowered {
    let mut env = Env::default();
    let mut start = Vec::new();
    for p in &wf.params {
        let binding = Binding {
            ident: p.ident.clone(),
            mutable: p.mutable,
            by_ref: false,
        };
        start.push(Field {
            ident: p.ident.clone(),
            use_span: p.ident.span(),
            ty: FieldTy::Written(p.ty.clone()),
            mutable: p.mutable,
        });
        env.declare(Var {
            binding,
            ty: VarTy::Known(FieldTy::Written(p.ty.clone())),
        });
    }
    let mut callees = Vec::new();
    let mut states = Vec::new();
    let mut reported: Vec<String> = Vec::new();
    for (i, node) in body.nodes.iter().enumerate() {
        match node {
            Node::Plain { stmt, .. } => {
                if let Stmt::Local(l) = stmt {
                    let (pat, ty) = match &l.pat {
                        syn::Pat::Type(t) => (&*t.pat, Some(&*t.ty)),
                        p => (p, None),
                    };
                    env.declare_pat(pat, ty, None);
                }
            }
            Node::Await { point, stmt, .. } => {
                let p = &body.points[*point];
                let continuation: Vec<&Stmt> = std::iter::once(stmt)
                    .chain(body.nodes[i + 1..].iter().map(node_stmt))
                    .collect();
                let live = vars::free_in(&continuation);
                let mut fields = Vec::new();
                for var in &env.vars {
                    let name = var.binding.ident.to_string();
                    let Some(use_span) = live.get(&name) else {
                        continue;
                    };
                    if let Some(field) = carried(var, *use_span, p, &mut reported, diag) {
                        fields.push(field);
                    }
                }
                if p.callee().is_ident(&wf.ident) {
                    diag.error_spanned(
                        p.callee(),
                        format_args!(
                            "a workflow cannot await itself: its state would contain itself without end; use a loop in the body instead of calling `{}` again",
                            wf.ident
                        ),
                    );
                }
                let callee = callee_index(&mut callees, p.callee());
                states.push(StateDef {
                    variant: Ident::new(&format!("S{}", point + 1), Span::call_site()),
                    fields,
                    callee,
                });
                if let Some(b) = &p.binding {
                    let inferred = match b.postfix {
                        Postfix::None => Some(FieldTy::Return(p.callee().clone())),
                        Postfix::Try => Some(FieldTy::Ok(p.callee().clone())),
                        Postfix::Other => None,
                    };
                    env.declare_pat(&b.pat, b.ty.as_ref(), inferred);
                }
            }
        }
    }
    Lowered {
        start,
        states,
        callees,
    }
}

/// A statement as it reads in the source, for liveness.
fn node_stmt(node: &Node) -> &Stmt {
    match node {
        Node::Plain { stmt, .. } | Node::Await { original: stmt, .. } => stmt,
    }
}

/// The field for a variable carried across `point`, or an error if it cannot be stored.
fn carried(
    var: &Var,
    use_span: Span,
    point: &Point,
    reported: &mut Vec<String>,
    diag: &mut Diagnostics,
) -> Option<Field> {
    let b = &var.binding;
    let callee = point
        .callee()
        .to_token_stream()
        .to_string()
        .replace(' ', "");
    let name = b.ident.to_string();
    let first_report = || !reported.contains(&name);
    let fail = |msg: String, reported: &mut Vec<String>, diag: &mut Diagnostics| {
        diag.error(b.ident.span(), msg);
        reported.push(b.ident.to_string());
    };
    if b.by_ref {
        if first_report() {
            fail(
                format!(
                    "`{}` is a `ref` binding used after `{callee}(..).await`: a borrow cannot be stored in the workflow state; bind it by value",
                    b.ident
                ),
                reported,
                diag,
            );
        }
        return None;
    }
    match &var.ty {
        VarTy::Unknown => {
            if first_report() {
                fail(
                    format!(
                        "cannot tell the type of `{name}`, which is used after `{callee}(..).await` and so is stored in the workflow state; annotate it: `let {name}: Type = ...`",
                        name = b.ident
                    ),
                    reported,
                    diag,
                );
            }
            None
        }
        VarTy::Known(ty) => {
            if let FieldTy::Written(t) = ty
                && let Some((_, why)) = unstorable(t)
            {
                if first_report() {
                    fail(
                        format!(
                            "`{}` is used after `{callee}(..).await`, so it is stored in the workflow state, but {why}",
                            b.ident
                        ),
                        reported,
                        diag,
                    );
                }
                return None;
            }
            Some(Field {
                ident: b.ident.clone(),
                use_span,
                ty: ty.clone(),
                mutable: b.mutable,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{analyze, parse};
    use super::*;
    use syn::parse_quote;

    fn lowered(f: syn::ItemFn) -> (Lowered, Result<(), String>) {
        let mut d = Diagnostics::new();
        let opts = parse::WorkflowOptions {
            name: None,
            version: 1,
            krate: None,
        };
        let wf = parse::parse(f, &opts, &mut d);
        let body = analyze::analyze(&wf.body, &mut d);
        let l = lower(&wf, &body, &mut d);
        let r = d.finish().map_err(|e| {
            e.into_iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        });
        (l, r)
    }

    fn field_names(s: &StateDef) -> Vec<String> {
        s.fields.iter().map(|f| f.ident.to_string()).collect()
    }

    #[test]
    fn carries_exactly_the_live_variables() {
        let (l, r) = lowered(parse_quote! {
            async fn checkout(order: Order, note: String) -> Result<Receipt, E> {
                let order = validate(order).await?;
                let receipt = charge(order.clone()).await?;
                let label: String = format!("{}", order.id);
                ship(receipt.clone(), label).await?;
                println!("{note}");
                Ok(receipt)
            }
        });
        r.unwrap();
        assert_eq!(l.start.len(), 2);
        assert_eq!(l.states.len(), 3);
        assert_eq!(field_names(&l.states[0]), ["note"]);
        assert_eq!(field_names(&l.states[1]), ["note", "order"]);
        assert_eq!(field_names(&l.states[2]), ["note", "receipt"]);
        assert!(matches!(l.states[1].fields[1].ty, FieldTy::Ok(_)));
        assert_eq!(l.callees.len(), 3);
    }

    #[test]
    fn arguments_of_later_calls_keep_variables_alive() {
        let (l, r) = lowered(parse_quote! {
            async fn w(order: Order) {
                let a = first(order.clone()).await;
                let b = second(a).await;
                third(order.id, b).await;
            }
        });
        r.unwrap();
        assert_eq!(field_names(&l.states[0]), ["order"]);
        assert_eq!(field_names(&l.states[1]), ["order"]);
        assert_eq!(field_names(&l.states[2]), Vec::<String>::new());
    }

    #[test]
    fn same_callee_twice_is_one_callee() {
        let (l, r) = lowered(parse_quote! {
            async fn w() { step(1).await; step(2).await; }
        });
        r.unwrap();
        assert_eq!(l.states.len(), 2);
        assert_eq!(l.callees.len(), 1);
    }

    #[test]
    fn unknown_and_borrowed_carried_values_are_errors() {
        let (_, r) = lowered(parse_quote! {
            async fn w(n: u32) { let x = n + 1; step(n).await; use_it(x); }
        });
        assert!(r.unwrap_err().contains("cannot tell the type of `x`"));
        let (_, r) = lowered(parse_quote! {
            async fn w(n: String) { let x: &str = &n; step(1).await; use_it(x); }
        });
        assert!(r.unwrap_err().contains("a borrowed value"));
        let (_, r) = lowered(parse_quote! {
            async fn w(n: u32) { let x = n + 1; step(x).await; }
        });
        r.unwrap();
    }
}
