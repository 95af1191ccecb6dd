//! Stage 3: one state per suspension point, carrying exactly the variables that are in scope
//! there and read by the code that can run after it, each with a type the compiler can name.
//!
//! "The code that can run after it" is the continuation of the point: the rest of its block,
//! then, for each construct around it, what consumes the construct's value and the rest of the
//! enclosing block; for a loop, the whole loop again. Its free variables are computed over that
//! code as written, with ordinary scoping.

// Syntax data built once per macro call: variant sizes do not matter.
#![allow(clippy::large_enum_variant)]

use proc_macro2::Span;
use quote::{ToTokens, format_ident, quote};
use syn::{Expr, Ident, Pat, Path, Stmt};

#[path = "lower_values.rs"]
mod values;

use super::analyze::{count_var, iter_var};
use super::collections;
use super::ir::{
    Block, Body, Consumer, Enter, Exit, LoopKind, Node, NodeKind, Point, Postfix, Step, Suspension,
    exit_of,
};
use super::parse::WorkflowFn;
use super::vars::{self, Binding};
use crate::diag::Diagnostics;
use crate::task::unstorable;

pub(crate) use super::types::{Base, FieldTy, Proj, ty_tokens};
use super::types::{Env, Var, point_type};

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
    /// Variables declared without a value (`let x: T;`) and not yet assigned on the way to this
    /// point: not stored, declared again (still without a value) when the point resumes.
    pub(crate) uninit: Vec<Uninit>,
}

/// A variable declared without a value, as the resuming transition declares it.
pub(crate) struct Uninit {
    pub(crate) ident: Ident,
    pub(crate) ty: Option<FieldTy>,
    pub(crate) mutable: bool,
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
    /// Per `let` consumer id: the type of a construct's value bound without a written type,
    /// when the macro can tell it (`lower_values.rs`).
    pub(crate) let_types: Vec<Option<FieldTy>>,
    /// The types of `let x;` declarations the macro found from their first assignment: a
    /// transition that declares `x` and suspends before assigning it is given the type.
    pub(crate) deferred: Vec<(Ident, FieldTy)>,
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

struct Lowerer<'a> {
    body: &'a Body,
    output: &'a syn::Type,
    loop_items: Vec<Option<FieldTy>>,
    /// Types found for `let x;` declarations (see [`Lowered::deferred`]).
    deferred: std::cell::RefCell<Vec<(Ident, FieldTy)>>,
}

impl Lowerer<'_> {
    /// Declares what `nodes[i]` leaves in scope; an empty collection without a written type
    /// takes its element type from what the code after it pushes (or from the return type).
    fn declare_in(&self, env: &mut Env, nodes: &[Node], i: usize, top: bool) {
        let node = &nodes[i];
        self.declare(env, node);
        let NodeKind::Plain {
            stmt: Stmt::Local(l),
            ..
        } = &node.kind
        else {
            return;
        };
        if let (Pat::Ident(p), None) = (&l.pat, &l.init) {
            // `let y;` assigned later: the type of the first value assigned to it.
            if let Some(t) = self.assigned_type(env, &nodes[i + 1..], &p.ident)
                && let Some(v) = env
                    .vars
                    .iter_mut()
                    .rev()
                    .find(|v| v.binding.ident == p.ident)
            {
                v.ty = Some(t.clone());
                let mut known = self.deferred.borrow_mut();
                if !known.iter().any(|(n, _)| *n == p.ident) {
                    known.push((p.ident.clone(), t));
                }
            }
            return;
        }
        let (Pat::Ident(p), Some(init)) = (&l.pat, &l.init) else {
            return;
        };
        let Some(g) = collections::empty_collection(&init.expr) else {
            return;
        };
        if env.lookup(&p.ident).is_some_and(|v| v.ty.is_some()) {
            return;
        }
        let mut later = env.clone();
        let rest = &nodes[i + 1..];
        for (j, n) in rest.iter().enumerate() {
            let tail = top && j + 1 == rest.len();
            let found = collections::pushed(&later, &n.original, &p.ident, g)
                .or_else(|| collections::returned(&n.original, &p.ident, tail, self.output));
            if let Some(t) = found {
                if let Some(v) = env
                    .vars
                    .iter_mut()
                    .rev()
                    .find(|v| v.binding.ident == p.ident)
                {
                    v.ty = Some(t);
                }
                return;
            }
            self.declare(&mut later, n);
            if later.lookup(&p.ident).is_some_and(|v| v.ty.is_some()) {
                // Declared again: later code is about another variable.
                return;
            }
        }
    }

    /// The type of the first value `nodes` assign to `name` that the macro can type: an
    /// awaited value (`name = task(..).await;`) or a plain one (`name = 0u64;`), also inside
    /// the blocks of later constructs.
    fn assigned_type(&self, env: &Env, nodes: &[Node], name: &Ident) -> Option<FieldTy> {
        let mut env = env.clone();
        for n in nodes {
            let found = match &n.kind {
                NodeKind::Await {
                    point,
                    stmt: Stmt::Expr(Expr::Assign(a), _),
                    ..
                } if matches!(&*a.left, Expr::Path(p) if p.path.is_ident(name)) => {
                    match &*a.right {
                        Expr::Path(h) if h.path.is_ident(super::ir::HOLE) => {
                            point_type(*point, Postfix::None)
                        }
                        Expr::Try(t) if matches!(&*t.expr, Expr::Path(h) if h.path.is_ident(super::ir::HOLE)) => {
                            point_type(*point, Postfix::Try)
                        }
                        _ => None,
                    }
                }
                NodeKind::Plain { stmt, .. } => {
                    vars::assigned_value(stmt, name).and_then(|e| env.type_of(e))
                }
                NodeKind::If { then, else_, .. } => self
                    .assigned_type(&env, &then.nodes, name)
                    .or_else(|| self.assigned_type(&env, &else_.as_ref()?.nodes, name)),
                NodeKind::Match { arms, .. } => arms
                    .iter()
                    .find_map(|a| self.assigned_type(&env, &a.body.nodes, name)),
                NodeKind::Scope { block, .. } | NodeKind::Loop { body: block, .. } => {
                    self.assigned_type(&env, &block.nodes, name)
                }
                _ => None,
            };
            if found.is_some() {
                return found;
            }
            self.declare(&mut env, n);
        }
        None
    }

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
                if !matches!(pat, Pat::Ident(_)) {
                    // `let (a, b) = ..`, `let S { a, .. } = ..`, a `while let`: annotating the
                    // binding in place is not possible, rebinding it is.
                    env.mark_pattern(pat);
                }
                if let Some(init) = &l.init
                    && let Expr::Closure(_) = &*init.expr
                    && let Some(v) = env.vars.last_mut()
                {
                    v.closure = true;
                }
                if l.init.is_none() {
                    let mut names = Vec::new();
                    vars::pat_bindings(pat, &mut names);
                    for v in env
                        .vars
                        .iter_mut()
                        .filter(|v| names.iter().any(|n| n.ident == v.binding.ident))
                    {
                        v.deferred = true;
                    }
                }
            }
            NodeKind::Await { point, stmt, .. } => {
                if let Some(b) = &self.body.points[*point].binding {
                    let ty = match (&b.ty, stmt) {
                        (Some(t), _) => Some(FieldTy::written(t.clone())),
                        // `let n = task(..).await.len();`: the resumed expression over the
                        // point's value.
                        (None, Stmt::Local(l)) if b.postfix == Postfix::Other => {
                            let mut with_hole = env.clone();
                            with_hole.declare(hole_binding(), point_type(*point, Postfix::None));
                            l.init.as_ref().and_then(|i| with_hole.type_of(&i.expr))
                        }
                        (None, _) => point_type(*point, b.postfix),
                    };
                    env.declare_pat(&b.pat, ty);
                    if !matches!(b.pat, Pat::Ident(_)) {
                        env.mark_pattern(&b.pat);
                    }
                }
            }
            NodeKind::If {
                consumer: Consumer::Let { pat, ty, .. },
                ..
            }
            | NodeKind::Match {
                consumer: Consumer::Let { pat, ty, .. },
                ..
            }
            | NodeKind::Loop {
                consumer: Consumer::Let { pat, ty, .. },
                ..
            }
            | NodeKind::Scope {
                consumer: Consumer::Let { pat, ty, .. },
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
            NodeKind::Loop { id, body, .. } => return self.loop_value(env, *id, &body.nodes),
            _ => {}
        }
        branches
            .into_iter()
            .find_map(|(mut env, block)| self.block_value(&mut env, block))
    }

    /// The type of a block's final value, if the macro can tell it.
    fn block_value(&self, env: &mut Env, block: &Block) -> Option<FieldTy> {
        let (last, init) = block.nodes.split_last()?;
        for i in 0..init.len() {
            self.declare_in(env, &block.nodes, i, false);
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
                env.declare(hole_binding(), point_type(*point, Postfix::None));
                env.type_of(e)
            }
            NodeKind::If { .. } | NodeKind::Match { .. } | NodeKind::Scope { .. }
                if matches!(last.consumer(), Some(Consumer::Tail)) =>
            {
                self.infer_value(env, last)
            }
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

/// The `const` / `static` items declared at the levels of the body that awaits split (the ones
/// emitted beside the state enum, visible in every transition), with their types.
fn body_consts(block: &Block) -> Vec<(Ident, syn::Type)> {
    let mut out = Vec::new();
    for node in &block.nodes {
        match &node.kind {
            NodeKind::Plain {
                stmt: Stmt::Item(syn::Item::Const(c)),
                ..
            } => out.push((c.ident.clone(), (*c.ty).clone())),
            NodeKind::Plain {
                stmt: Stmt::Item(syn::Item::Static(s)),
                ..
            } if matches!(s.mutability, syn::StaticMutability::None) => {
                out.push((s.ident.clone(), (*s.ty).clone()))
            }
            _ => {}
        }
        let inner: Vec<&Block> = match &node.kind {
            NodeKind::If { then, else_, .. } => {
                std::iter::once(then).chain(else_.as_ref()).collect()
            }
            NodeKind::Match { arms, .. } => arms.iter().map(|a| &a.body).collect(),
            NodeKind::Loop { body, .. } | NodeKind::Scope { block: body, .. } => vec![body],
            _ => Vec::new(),
        };
        for b in inner {
            out.extend(body_consts(b));
        }
    }
    out
}

/// The variable holding a point's resumed value in generated code.
fn hole_binding() -> Binding {
    Binding {
        ident: format_ident!("{}", super::ir::HOLE),
        mutable: false,
        by_ref: false,
    }
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
    let mut root = Env {
        consts: std::rc::Rc::new(body_consts(&body.block)),
        ..Env::default()
    };
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
        output: &wf.output,
        loop_items: vec![None; body.loops.len()],
        deferred: Default::default(),
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
        let mut assigned = vars::Assigned::default();
        for step in &path {
            let top = std::ptr::eq(block, &body.block);
            for (i, node) in block.nodes[..step.index].iter().enumerate() {
                lw.declare_in(&mut env, &block.nodes, i, top);
                syn::visit::Visit::visit_stmt(&mut assigned, &node.original);
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
        let mut uninit = Vec::new();
        for var in &env.vars {
            let name = var.binding.ident.to_string();
            let Some(use_span) = live.get(&name) else {
                continue;
            };
            if var.deferred && !assigned.0.contains(&name) {
                if var.ty.is_none() && !reported.contains(&name) {
                    diag.error(
                        var.binding.ident.span(),
                        format_args!(
                            "cannot tell the type of `{}`, which is declared without a value and assigned after an `.await`; annotate it: `let {}: Type;`",
                            wf.written_name(&var.binding.ident),
                            wf.written_name(&var.binding.ident)
                        ),
                    );
                    reported.push(name);
                    continue;
                }
                uninit.push(Uninit {
                    ident: var.binding.ident.clone(),
                    ty: var.ty.clone(),
                    mutable: var.binding.mutable,
                });
                continue;
            }
            let written = wf.written_name(&var.binding.ident);
            if let Some(field) = carried(var, &written, *use_span, point, &mut reported, diag) {
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
            uninit,
        });
    }
    // Also enters every loop, so a `for` loop without points in its body has its item type.
    let mut let_types = vec![None; body.lets];
    lw.type_lets((wf, diag), &root, &body.block.nodes, true, &mut let_types);
    for (id, l) in body.loops.iter().enumerate() {
        if let (LoopKind::For { iter, .. }, None) = (&l.kind, &lw.loop_items[id]) {
            diag.error_spanned(
                iter,
                "the items of a `for` loop that awaits are stored with the loop's position, so their type must be known: loop over a variable of a known type (`let items: Vec<Item> = ...;` then `for item in items`), or over a task's result",
            );
        }
    }
    Lowered {
        start,
        states,
        callees,
        let_types,
        deferred: lw.deferred.into_inner(),
        loop_items: lw.loop_items,
    }
}

/// The code that can run after the point at the end of `levels`, as written: the rest of its
/// block, then what follows each enclosing construct, as far as control can reach it.
fn continuation(levels: &[(&Block, Step)]) -> Vec<Stmt> {
    continue_from(levels, resumed(levels)).0
}

/// How the code after the point at the end of `levels` leaves the outermost of those levels
/// (for a loop's body: whether the resumed iteration can go on to another one).
pub(crate) fn continuation_exit(levels: &[(&Block, Step)]) -> Exit {
    continue_from(levels, resumed(levels)).1
}

/// The point's statement as it runs when the point resumes.
fn resumed(levels: &[(&Block, Step)]) -> Vec<Stmt> {
    let Some(((block, step), _)) = levels.split_last() else {
        return Vec::new();
    };
    match &block.nodes[step.index].kind {
        NodeKind::Await { stmt, .. } => vec![stmt.clone()],
        _ => Vec::new(),
    }
}

/// `first`, the rest of the innermost block, then what follows each enclosing construct; and
/// how that code leaves the outermost level.
fn continue_from(levels: &[(&Block, Step)], first: Vec<Stmt>) -> (Vec<Stmt>, Exit) {
    let Some(((block, step), outer)) = levels.split_last() else {
        let exit = exit_of(&first);
        return (first, exit);
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
    (inner, exit)
}

/// The field for a variable carried across `point`, or an error if it cannot be stored.
fn carried(
    var: &Var,
    written: &str,
    use_span: Span,
    point: &Point,
    reported: &mut Vec<String>,
    diag: &mut Diagnostics,
) -> Option<Field> {
    let b = &var.binding;
    let key = b.ident.to_string();
    let after = match &point.what {
        Suspension::Call(c) => format!(
            "`{}(..).await`",
            c.callee.to_token_stream().to_string().replace(' ', "")
        ),
        Suspension::Join { .. } => "the join".to_string(),
        Suspension::JoinAll { .. } => "the `join_all`".to_string(),
        Suspension::Continue(_) => "`continue_as_new(..).await`".to_string(),
    };
    if reported.contains(&key) || (var.ty.is_none() && key.starts_with("__sayiir_")) {
        // Synthetic variables of unknown type are reported by the construct that made them.
        return None;
    }
    let name = written;
    let message = if b.by_ref {
        format!(
            "`{name}` is a `ref` binding used after {after}: a borrow cannot be stored in the workflow state; bind it by value"
        )
    } else {
        match &var.ty {
            None if var.closure => format!(
                "`{name}` is a closure used after {after}, so it would be stored in the workflow state, but a closure cannot be stored; define it after the `.await`, or make it an `fn`"
            ),
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
    reported.push(key);
    None
}

#[cfg(test)]
#[path = "lower_tests.rs"]
mod tests;
