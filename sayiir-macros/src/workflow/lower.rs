//! Stage 3: one state per suspension point, carrying exactly the variables that are in scope
//! there and read by the code that can run after it, each with a type the compiler can name.
//!
//! "The code that can run after it" is the continuation of the point: the rest of its block,
//! then, for each construct around it, what consumes the construct's value and the rest of the
//! enclosing block; for a loop, the whole loop again. Its free variables are computed over that
//! code as written, with ordinary scoping.

// Syntax data built once per macro call: variant sizes do not matter.
#![allow(clippy::large_enum_variant)]

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, format_ident, quote};
use syn::{Expr, Ident, Pat, Path, Stmt, Type};

use super::analyze::{count_var, iter_var};
use super::ir::{
    Block, Body, Consumer, Enter, Exit, LoopKind, Node, NodeKind, Point, Postfix, Step, Suspension,
    exit_of,
};
use super::parse::WorkflowFn;
use super::vars::{self, Binding};
use crate::diag::Diagnostics;
use crate::task::unstorable;

/// Where a stored type comes from.
#[derive(Clone)]
pub(crate) enum Base {
    /// Written by the user (parameter or annotation).
    Written(Type),
    /// What suspension point `k` yields.
    Point(usize),
    /// A loop's iteration counter (`u64`).
    Count,
    /// A `for` loop's remaining items of the given type.
    ForIter(Box<FieldTy>),
}

/// A projection applied to a type.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Proj {
    /// The success type (`Ok(x)`, `Some(x)`, `?`).
    Ok,
    /// The error type (`Err(e)`).
    Err,
    /// The item type of a collection (`for x in items`).
    Item,
    /// Field `i` of a tuple (`let (a, b) = join!(..).await`).
    Field(usize),
}

/// The type of a stored variable.
#[derive(Clone)]
pub(crate) struct FieldTy {
    pub(crate) base: Base,
    pub(crate) proj: Vec<Proj>,
}

impl FieldTy {
    fn written(t: Type) -> Self {
        Self {
            base: Base::Written(t),
            proj: Vec::new(),
        }
    }

    fn then(&self, p: Proj) -> Self {
        let mut t = self.clone();
        t.proj.push(p);
        t
    }
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
    /// Stable identity (see `ids.rs`).
    pub(crate) id: String,
    pub(crate) fields: Vec<Field>,
    /// Indices into [`Lowered::callees`] of the calls this point makes.
    pub(crate) callees: Vec<usize>,
}

/// The lowered workflow.
pub(crate) struct Lowered {
    /// Fields of the start state: the inputs.
    pub(crate) start: Vec<Field>,
    /// One state per suspension point, in point order.
    pub(crate) states: Vec<StateDef>,
    /// Distinct callees, in order of first use.
    pub(crate) callees: Vec<Path>,
    /// Per loop id: the item type of a `for` loop.
    pub(crate) loop_items: Vec<Option<FieldTy>>,
}

#[derive(Clone)]
struct Var {
    binding: Binding,
    ty: Option<FieldTy>,
    /// Bound by a `match`/`if let`/`for` pattern rather than a `let`.
    from_pattern: bool,
}

/// Variables in scope, latest declaration of each name last.
#[derive(Default, Clone)]
struct Env {
    vars: Vec<Var>,
}

impl Env {
    fn declare(&mut self, binding: Binding, ty: Option<FieldTy>) {
        self.vars.retain(|v| v.binding.ident != binding.ident);
        self.vars.push(Var {
            binding,
            ty,
            from_pattern: false,
        });
    }

    /// Marks the latest declarations of `pat`'s names as pattern bindings.
    fn mark_pattern(&mut self, pat: &Pat) {
        let mut names = Vec::new();
        vars::pat_bindings(pat, &mut names);
        for v in self
            .vars
            .iter_mut()
            .filter(|v| names.iter().any(|n| n.ident == v.binding.ident))
        {
            v.from_pattern = true;
        }
    }

    fn lookup(&self, name: &Ident) -> Option<&Var> {
        self.vars.iter().rev().find(|v| v.binding.ident == *name)
    }

    /// The type of a simple expression over known variables: `x`, `x?`, `x.clone()`, `(x)`.
    fn type_of(&self, e: &Expr) -> Option<FieldTy> {
        match e {
            Expr::Path(p) if p.qself.is_none() => self.lookup(p.path.get_ident()?)?.ty.clone(),
            Expr::Paren(p) => self.type_of(&p.expr),
            Expr::Try(t) => Some(self.type_of(&t.expr)?.then(Proj::Ok)),
            Expr::MethodCall(m) if m.method == "clone" && m.args.is_empty() => {
                self.type_of(&m.receiver)
            }
            // A `match` in plain code: the type of any arm the macro can type (they agree).
            Expr::Match(m) => {
                let scrutinee = self.type_of(&m.expr);
                m.arms.iter().find_map(|arm| {
                    let mut env = self.clone();
                    env.declare_pat(&arm.pat, scrutinee.clone());
                    env.type_of(&arm.body)
                })
            }
            Expr::Block(b) if b.label.is_none() => match b.block.stmts.as_slice() {
                [Stmt::Expr(e, None)] => self.type_of(e),
                _ => None,
            },
            _ => None,
        }
    }

    /// Declares the names of `pat`, typed as far as `ty` (the matched value's type) allows.
    fn declare_pat(&mut self, pat: &Pat, ty: Option<FieldTy>) {
        let mut typed = Vec::new();
        pattern_types(pat, ty, &mut typed);
        let mut all = Vec::new();
        vars::pat_bindings(pat, &mut all);
        for b in all {
            let ty = typed
                .iter()
                .find(|(n, _)| *n == b.ident)
                .and_then(|(_, t)| t.clone());
            self.declare(b, ty);
        }
    }
}

/// Types of the names a pattern binds when it matches a value of type `ty`.
fn pattern_types(pat: &Pat, ty: Option<FieldTy>, out: &mut Vec<(Ident, Option<FieldTy>)>) {
    match pat {
        Pat::Ident(p) => {
            out.push((p.ident.clone(), ty.clone()));
            if let Some((_, sub)) = &p.subpat {
                pattern_types(sub, ty, out);
            }
        }
        Pat::Type(t) => pattern_types(&t.pat, Some(FieldTy::written((*t.ty).clone())), out),
        Pat::Paren(p) => pattern_types(&p.pat, ty, out),
        Pat::TupleStruct(ts) if ts.elems.len() == 1 => {
            let name = ts
                .path
                .segments
                .last()
                .map(|s| s.ident.to_string())
                .unwrap_or_default();
            let proj = match name.as_str() {
                "Ok" | "Some" => Some(Proj::Ok),
                "Err" => Some(Proj::Err),
                _ => None,
            };
            let inner = match (proj, ty) {
                (Some(p), Some(t)) => Some(t.then(p)),
                _ => None,
            };
            pattern_types(&ts.elems[0], inner, out);
        }
        Pat::Tuple(pt) => {
            let parts: Option<Vec<Type>> = match &ty {
                Some(FieldTy {
                    base: Base::Written(Type::Tuple(tt)),
                    proj,
                }) if proj.is_empty() => {
                    (tt.elems.len() == pt.elems.len()).then(|| tt.elems.iter().cloned().collect())
                }
                _ => None,
            };
            let has_rest = pt.elems.iter().any(|p| matches!(p, Pat::Rest(_)));
            for (i, p) in pt.elems.iter().enumerate() {
                let t = match (&parts, &ty) {
                    (Some(v), _) => Some(FieldTy::written(v[i].clone())),
                    (None, Some(t)) if !has_rest => Some(t.then(Proj::Field(i))),
                    _ => None,
                };
                pattern_types(p, t, out);
            }
        }
        _ => {}
    }
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

/// The type a point's resumed value has under `postfix`.
fn point_type(point: usize, postfix: Postfix) -> Option<FieldTy> {
    let base = FieldTy {
        base: Base::Point(point),
        proj: Vec::new(),
    };
    match postfix {
        Postfix::None => Some(base),
        Postfix::Try => Some(base.then(Proj::Ok)),
        Postfix::Other => None,
    }
}

struct Lowerer<'a> {
    body: &'a Body,
    loop_items: Vec<Option<FieldTy>>,
}

impl Lowerer<'_> {
    /// Declares what `node` (a sibling before the path) leaves in scope.
    fn declare(&self, env: &mut Env, node: &Node) {
        match &node.kind {
            NodeKind::Plain {
                stmt: Stmt::Local(l),
                ..
            } => {
                let (pat, ty) = match &l.pat {
                    Pat::Type(t) => (&*t.pat, Some(FieldTy::written((*t.ty).clone()))),
                    p => (p, l.init.as_ref().and_then(|i| env.type_of(&i.expr))),
                };
                env.declare_pat(pat, ty);
            }
            NodeKind::Await { point, .. } => {
                if let Some(b) = &self.body.points[*point].binding {
                    let ty = match &b.ty {
                        Some(t) => Some(FieldTy::written(t.clone())),
                        None => point_type(*point, b.postfix),
                    };
                    env.declare_pat(&b.pat, ty);
                }
            }
            NodeKind::If {
                consumer: Consumer::Let { pat, ty },
                ..
            }
            | NodeKind::Match {
                consumer: Consumer::Let { pat, ty },
                ..
            }
            | NodeKind::Loop {
                consumer: Consumer::Let { pat, ty },
                ..
            }
            | NodeKind::Scope {
                consumer: Consumer::Let { pat, ty },
                ..
            } => {
                let ty = match ty {
                    Some(t) => Some(FieldTy::written(t.clone())),
                    None => self.infer_value(env, node),
                };
                env.declare_pat(pat, ty);
            }
            NodeKind::ForItem { id, pat } => {
                env.declare_pat(pat, self.loop_items.get(*id).cloned().flatten());
            }
            _ => {}
        }
    }

    /// The type of a construct's value, from any branch whose value the macro can type (Rust
    /// gives every branch the same type).
    fn infer_value(&self, env: &Env, node: &Node) -> Option<FieldTy> {
        let mut branches: Vec<(Env, &Block)> = Vec::new();
        match &node.kind {
            NodeKind::If {
                cond, then, else_, ..
            } => {
                let mut then_env = env.clone();
                if let Expr::Let(l) = cond {
                    let ty = env.type_of(&l.expr);
                    then_env.declare_pat(&l.pat, ty);
                }
                branches.push((then_env, then));
                if let Some(e) = else_ {
                    branches.push((env.clone(), e));
                }
            }
            NodeKind::Match {
                scrutinee, arms, ..
            } => {
                let ty = env.type_of(scrutinee);
                for arm in arms {
                    let mut arm_env = env.clone();
                    arm_env.declare_pat(&arm.pat, ty.clone());
                    branches.push((arm_env, &arm.body));
                }
            }
            NodeKind::Scope { block, .. } => branches.push((env.clone(), block)),
            _ => {}
        }
        branches
            .into_iter()
            .find_map(|(mut env, block)| self.block_value(&mut env, block))
    }

    /// The type of a block's final value, if the macro can tell it.
    fn block_value(&self, env: &mut Env, block: &Block) -> Option<FieldTy> {
        let (last, init) = block.nodes.split_last()?;
        for n in init {
            self.declare(env, n);
        }
        match &last.kind {
            NodeKind::Plain {
                stmt: Stmt::Expr(e, None),
                tail: true,
            } => env.type_of(e),
            NodeKind::Await {
                point,
                stmt: Stmt::Expr(e, None),
                tail: true,
            } => {
                let hole = Binding {
                    ident: format_ident!("{}", super::ir::HOLE),
                    mutable: false,
                    by_ref: false,
                };
                env.declare(hole, point_type(*point, Postfix::None));
                env.type_of(e)
            }
            NodeKind::If {
                consumer: Consumer::Tail,
                ..
            }
            | NodeKind::Match {
                consumer: Consumer::Tail,
                ..
            }
            | NodeKind::Scope {
                consumer: Consumer::Tail,
                ..
            } => self.infer_value(env, last),
            _ => None,
        }
    }

    /// Declares what entering `node` by `into` puts in scope.
    fn enter(&mut self, env: &mut Env, node: &Node, into: Enter) {
        match (&node.kind, into) {
            (
                NodeKind::If {
                    cond: Expr::Let(l), ..
                },
                Enter::Then,
            ) => {
                let ty = env.type_of(&l.expr);
                env.declare_pat(&l.pat, ty);
                env.mark_pattern(&l.pat);
            }
            (
                NodeKind::Match {
                    scrutinee, arms, ..
                },
                Enter::Arm(i),
            ) => {
                let ty = env.type_of(scrutinee);
                if let Some(arm) = arms.get(i) {
                    env.declare_pat(&arm.pat, ty);
                    env.mark_pattern(&arm.pat);
                }
            }
            (NodeKind::Loop { id, .. }, Enter::LoopBody) => {
                let count = FieldTy {
                    base: Base::Count,
                    proj: Vec::new(),
                };
                env.declare(
                    Binding {
                        ident: count_var(*id),
                        mutable: true,
                        by_ref: false,
                    },
                    Some(count),
                );
                if let LoopKind::For { iter, .. } = &self.body.loops[*id].kind {
                    let item = env.type_of(iter).map(|t| t.then(Proj::Item));
                    self.loop_items[*id] = item.clone();
                    let ty = item.map(|i| FieldTy {
                        base: Base::ForIter(Box::new(i)),
                        proj: Vec::new(),
                    });
                    env.declare(
                        Binding {
                            ident: iter_var(*id),
                            mutable: true,
                            by_ref: false,
                        },
                        ty,
                    );
                }
            }
            _ => {}
        }
    }
}

/// The tokens of a stored type. `outputs` are the types the points yield, for `Base::Point`.
pub(crate) fn ty_tokens(t: &FieldTy, p: &TokenStream, outputs: &[TokenStream]) -> TokenStream {
    let mut out = match &t.base {
        Base::Written(ty) => quote!(#ty),
        Base::Point(k) => outputs.get(*k).cloned().unwrap_or_else(|| quote!(())),
        Base::Count => quote!(u64),
        Base::ForIter(item) => {
            let item = ty_tokens(item, p, outputs);
            quote!(#p::ForIter<#item>)
        }
    };
    for proj in &t.proj {
        out = match proj {
            Proj::Ok => quote!(<#out as #p::Unwrap>::Ok),
            Proj::Err => quote!(<#out as #p::ResultOutput>::Err),
            Proj::Item => quote!(<#out as ::core::iter::IntoIterator>::Item),
            Proj::Field(i) => {
                let i = proc_macro2::Literal::usize_unsuffixed(*i);
                quote!(<#out as #p::TupleField<#i>>::Ty)
            }
        };
    }
    out
}

fn block_stmt(stmts: Vec<Stmt>) -> Stmt {
    Stmt::Expr(
        Expr::Block(syn::ExprBlock {
            attrs: Vec::new(),
            label: None,
            block: syn::Block {
                brace_token: Default::default(),
                stmts,
            },
        }),
        Some(Default::default()),
    )
}

fn originals(nodes: &[Node]) -> Vec<Stmt> {
    nodes.iter().map(|n| n.original.clone()).collect()
}

/// `loop { body }` as written: what another iteration reads.
fn loop_again(body: &Block) -> Stmt {
    let stmts = originals(&body.nodes);
    syn::parse2(quote!(loop { #(#stmts)* })).unwrap_or_else(|_| block_stmt(stmts))
}

/// What consuming a construct's value reads and binds, as a statement.
fn consumer_stmt(c: &Consumer) -> Option<Stmt> {
    let value = format_ident!("__sayiir_value");
    match c {
        Consumer::Let { pat, .. } => syn::parse2(quote!(let #pat = #value;)).ok(),
        Consumer::Assign { place } => syn::parse2(quote!(#place = #value;)).ok(),
        _ => None,
    }
}

/// Lowers the analyzed body.
pub(crate) fn lower(wf: &WorkflowFn, body: &Body, diag: &mut Diagnostics) -> Lowered {
    let mut root = Env::default();
    let mut start = Vec::new();
    for param in &wf.params {
        let binding = Binding {
            ident: param.ident.clone(),
            mutable: param.mutable,
            by_ref: false,
        };
        let ty = FieldTy::written(param.ty.clone());
        start.push(Field {
            ident: param.ident.clone(),
            use_span: param.ident.span(),
            ty: ty.clone(),
            mutable: param.mutable,
        });
        root.declare(binding, Some(ty));
    }
    let mut lw = Lowerer {
        body,
        loop_items: vec![None; body.loops.len()],
    };
    let mut callees = Vec::new();
    let mut states = Vec::new();
    let mut reported: Vec<String> = Vec::new();
    for (k, point) in body.points.iter().enumerate() {
        let Some(path) = body.block.path_to(k) else {
            continue;
        };
        let mut env = root.clone();
        // Walk down, collecting the blocks and nodes on the way.
        let mut levels: Vec<(&Block, Step)> = Vec::new();
        let mut block = &body.block;
        for step in &path {
            for node in &block.nodes[..step.index] {
                lw.declare(&mut env, node);
            }
            levels.push((block, *step));
            let node = &block.nodes[step.index];
            lw.enter(&mut env, node, step.into);
            match block.child(*step) {
                Some(next) => block = next,
                None => break,
            }
        }
        let live = vars::free_in(&continuation(&levels).iter().collect::<Vec<_>>());
        let mut fields = Vec::new();
        for var in &env.vars {
            let name = var.binding.ident.to_string();
            let Some(use_span) = live.get(&name) else {
                continue;
            };
            if let Some(field) = carried(var, *use_span, point, &mut reported, diag) {
                fields.push(field);
            }
        }
        let mut point_callees = Vec::new();
        for call in point.what.calls() {
            if call.callee.is_ident(&wf.ident) {
                diag.error_spanned(
                    &call.callee,
                    format_args!(
                        "a workflow cannot await itself: its state would contain itself without end; use a loop in the body instead of calling `{}` again",
                        wf.ident
                    ),
                );
            }
            if let (Some(ctx), Some(syn::Expr::Path(arg))) = (&wf.ctx, call.args.first())
                && arg.path.is_ident(&ctx.ident)
            {
                diag.error_spanned(
                    arg,
                    "the shared context is not passed to calls: a child workflow shares its parent's context at run time; call it with its inputs only, e.g. `child(input).await`",
                );
            }
            point_callees.push(callee_index(&mut callees, &call.callee));
        }
        states.push(StateDef {
            variant: format_ident!("S{}", k + 1),
            id: point.id.clone(),
            fields,
            callees: point_callees,
        });
    }
    for (id, l) in body.loops.iter().enumerate() {
        if let (LoopKind::For { iter, .. }, None) = (&l.kind, &lw.loop_items[id]) {
            diag.error_spanned(
                iter,
                "the items of a `for` loop that awaits are stored with the loop's position, so their type must be known: loop over a variable of a known type (`let items: Vec<Item> = ...;` then `for item in items`), or over a task's result",
            );
        }
    }
    super::shadow::check_shadowing(body, diag);
    Lowered {
        start,
        states,
        callees,
        loop_items: lw.loop_items,
    }
}

/// The code that can run after the point at the end of `levels`, as written: the rest of its
/// block, then what follows each enclosing construct, as far as control can reach it.
fn continuation(levels: &[(&Block, Step)]) -> Vec<Stmt> {
    let Some(((block, step), _)) = levels.split_last() else {
        return Vec::new();
    };
    let first: Vec<Stmt> = match &block.nodes[step.index].kind {
        NodeKind::Await { stmt, .. } => vec![stmt.clone()],
        _ => Vec::new(),
    };
    continue_from(levels, first)
}

/// The code that runs after the construct at the end of `levels` has produced its value.
pub(crate) fn after_construct(levels: &[(&Block, Step)]) -> Vec<Stmt> {
    let Some(((block, step), _)) = levels.split_last() else {
        return Vec::new();
    };
    let first = construct_consumer(&block.nodes[step.index])
        .and_then(consumer_stmt)
        .into_iter()
        .collect();
    continue_from(levels, first)
}

fn construct_consumer(node: &Node) -> Option<&Consumer> {
    match &node.kind {
        NodeKind::If { consumer, .. }
        | NodeKind::Match { consumer, .. }
        | NodeKind::Scope { consumer, .. }
        | NodeKind::Loop { consumer, .. } => Some(consumer),
        _ => None,
    }
}

/// `first`, the rest of the innermost block, then what follows each enclosing construct.
fn continue_from(levels: &[(&Block, Step)], first: Vec<Stmt>) -> Vec<Stmt> {
    let Some(((block, step), outer)) = levels.split_last() else {
        return first;
    };
    let mut inner = first;
    inner.extend(originals(&block.nodes[step.index + 1..]));
    let mut exit = exit_of(&inner);
    for (block, step) in outer.iter().rev() {
        if exit == Exit::Return {
            break;
        }
        let node = &block.nodes[step.index];
        let is_loop = matches!(node.kind, NodeKind::Loop { .. });
        let mut next = vec![block_stmt(inner)];
        let reaches_rest = match (exit, is_loop) {
            (Exit::Normal, _) => true,
            // Leaving a branch by `break`/`continue` skips what follows the branch, up to the loop.
            (Exit::Break | Exit::Continue, false) => false,
            (Exit::Break | Exit::Continue, true) => true,
            (Exit::Return, _) => false,
        };
        if reaches_rest {
            let consumer = match &node.kind {
                NodeKind::Loop { body, consumer, .. } => {
                    if exit != Exit::Break {
                        next.push(loop_again(body));
                    }
                    Some(consumer)
                }
                NodeKind::If { consumer, .. }
                | NodeKind::Match { consumer, .. }
                | NodeKind::Scope { consumer, .. } => Some(consumer),
                _ => None,
            };
            next.extend(consumer.and_then(consumer_stmt));
            let rest = originals(&block.nodes[step.index + 1..]);
            let rest_exit = exit_of(&rest);
            next.extend(rest);
            exit = if is_loop || exit == Exit::Normal {
                rest_exit
            } else {
                exit
            };
        }
        inner = next;
    }
    inner
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
    let name = b.ident.to_string();
    let after = match &point.what {
        Suspension::Call(c) => format!(
            "`{}(..).await`",
            c.callee.to_token_stream().to_string().replace(' ', "")
        ),
        Suspension::Join { .. } => "the join".to_string(),
        Suspension::JoinAll { .. } => "the `join_all`".to_string(),
        Suspension::Continue(_) => "`continue_as_new(..).await`".to_string(),
    };
    if reported.contains(&name) || (var.ty.is_none() && name.starts_with("__sayiir_")) {
        // Synthetic variables of unknown type are reported by the construct that made them.
        return None;
    }
    let message = if b.by_ref {
        format!(
            "`{name}` is a `ref` binding used after {after}: a borrow cannot be stored in the workflow state; bind it by value"
        )
    } else {
        match &var.ty {
            None if var.from_pattern => format!(
                "cannot tell the type of `{name}`, which is used after {after} and so is stored in the workflow state; rebind it with a type before the `.await`: `let {name}: Type = {name};`"
            ),
            None => format!(
                "cannot tell the type of `{name}`, which is used after {after} and so is stored in the workflow state; annotate it: `let {name}: Type = ...`"
            ),
            Some(FieldTy {
                base: Base::Written(t),
                proj,
            }) if proj.is_empty() => match unstorable(t) {
                Some((_, why)) => format!(
                    "`{name}` is used after {after}, so it is stored in the workflow state, but {why}"
                ),
                None => String::new(),
            },
            Some(_) => String::new(),
        }
    };
    if message.is_empty() {
        let ty = var.ty.clone()?;
        return Some(Field {
            ident: b.ident.clone(),
            use_span,
            ty,
            mutable: b.mutable,
        });
    }
    diag.error(b.ident.span(), message);
    reported.push(name);
    None
}

#[cfg(test)]
#[path = "lower_tests.rs"]
mod tests;
