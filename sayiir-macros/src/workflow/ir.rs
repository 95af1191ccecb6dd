//! The analyzed body: a tree of blocks whose nodes are plain statements, statements that start
//! with a suspension point, and the control-flow constructs that contain suspension points
//! (branches, matches, loops, nested blocks). Constructs without suspension points stay plain
//! statements: they run inside one transition as ordinary Rust.

// Syntax data built once per macro call: variant sizes do not matter.
#![allow(clippy::large_enum_variant)]

use proc_macro2::Span;
use syn::{Expr, Lifetime, Pat, Path, Stmt, Type};

/// Name of the variable holding the resumed value in generated code.
pub(crate) const HOLE: &str = "__sayiir_resumed";

/// An analyzed workflow body.
pub(crate) struct Body {
    pub(crate) block: Block,
    pub(crate) points: Vec<Point>,
    pub(crate) loops: Vec<LoopInfo>,
    /// How many `let` consumers the body has.
    pub(crate) lets: usize,
}

/// A block: its nodes and where it ends (for errors about its value).
pub(crate) struct Block {
    pub(crate) nodes: Vec<Node>,
    pub(crate) end: Span,
}

/// One statement of a block.
pub(crate) struct Node {
    pub(crate) kind: NodeKind,
    /// What the statement reads as written (after desugaring), for liveness.
    pub(crate) original: Stmt,
}

/// The kinds of statements.
pub(crate) enum NodeKind {
    /// No suspension point inside: runs as part of a transition.
    Plain {
        stmt: Stmt,
        /// The block's final expression.
        tail: bool,
    },
    /// Starts with a suspension point; `stmt` is the statement with the awaited expression
    /// replaced by [`HOLE`], run when the instance resumes.
    Await {
        point: usize,
        stmt: Stmt,
        tail: bool,
    },
    /// `if cond { then } else { else_ }` with suspension points in a branch.
    If {
        cond: Expr,
        then: Block,
        else_: Option<Block>,
        consumer: Consumer,
    },
    /// `match scrutinee { arms }` with suspension points in an arm.
    Match {
        scrutinee: Expr,
        arms: Vec<Arm>,
        consumer: Consumer,
    },
    /// A loop (`loop`, `while`, `for` desugared) with suspension points in its body.
    Loop {
        id: usize,
        body: Block,
        consumer: Consumer,
    },
    /// A nested `{ ... }` block with suspension points.
    Scope { block: Block, consumer: Consumer },
    /// The first statement of a `for` loop's body: takes the next item (or leaves the loop).
    ForItem { id: usize, pat: Pat },
    /// Counts one run of a loop's body and enforces the loop's iteration limit; placed after the
    /// `while` condition or the `for` item, so a loop whose body runs N times counts N.
    LoopCount { id: usize },
}

impl Node {
    /// What consumes the value of a construct (`None` for other statements).
    pub(crate) fn consumer(&self) -> Option<&Consumer> {
        match &self.kind {
            NodeKind::If { consumer, .. }
            | NodeKind::Match { consumer, .. }
            | NodeKind::Scope { consumer, .. }
            | NodeKind::Loop { consumer, .. } => Some(consumer),
            _ => None,
        }
    }
}

/// One arm of a `match`.
pub(crate) struct Arm {
    pub(crate) pat: Pat,
    pub(crate) guard: Option<Expr>,
    pub(crate) body: Block,
}

/// What happens to the value of a construct.
#[derive(Clone)]
pub(crate) enum Consumer {
    /// `construct;` or a statement-like construct.
    Discard,
    /// The final expression of its block: the value is the block's value.
    Tail,
    /// `return construct;`
    Return,
    /// `let pat[: ty] = construct;`; `id` numbers the body's `let` consumers (the lowering
    /// types each one, see `Lowered::let_types`).
    Let {
        pat: Pat,
        ty: Option<Type>,
        id: usize,
    },
    /// `place = construct;`
    Assign { place: Expr },
}

/// A suspension point: where the instance is checkpointed and waits.
pub(crate) struct Point {
    pub(crate) what: Suspension,
    /// How the resumed value is bound, for typing the variables it introduces.
    pub(crate) binding: Option<LetBinding>,
    /// `#[sayiir::state("label")]` on the awaiting statement.
    pub(crate) label: Option<syn::LitStr>,
    /// The stable identity of the point's state (see `ids.rs`).
    pub(crate) id: String,
}

/// What a suspension point waits for.
pub(crate) enum Suspension {
    /// A call of a `#[task]` or `#[workflow]` function.
    Call(Call),
    /// `sayiir::join!(calls..)` / `sayiir::try_join!(calls..)`.
    Join {
        calls: Vec<Call>,
        try_: bool,
        span: Span,
    },
    /// `sayiir::join_all(iter.map(|pat| call))` / `sayiir::try_join_all(..)`.
    JoinAll {
        iter: Expr,
        pat: Pat,
        call: Call,
        try_: bool,
        span: Span,
    },
    /// `continue_as_new(input)` (any path ending in `continue_as_new`; one argument, no
    /// `.timeout`): ends the run and starts the workflow again with `input`.
    Continue(Call),
}

/// `callee(args)`, or `callee(args).timeout(d)`.
pub(crate) struct Call {
    pub(crate) callee: Path,
    pub(crate) args: Vec<Expr>,
    /// The deadline of `.timeout(d)`: plain code, evaluated where the call is made.
    pub(crate) timeout: Option<Expr>,
}

impl Call {
    /// The first argument when it is a string literal (a signal's name).
    pub(crate) fn first_literal(&self) -> Option<&syn::LitStr> {
        match self.args.first() {
            Some(Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            })) => Some(s),
            _ => None,
        }
    }
}

/// Whether a callee path names `continue_as_new` (by its last segment, so imports count).
pub(crate) fn is_continue(path: &Path) -> bool {
    path.segments
        .last()
        .is_some_and(|s| s.ident == "continue_as_new")
}

impl Suspension {
    /// Where errors about the point's wait are reported.
    pub(crate) fn span(&self) -> Span {
        match self {
            Suspension::Call(c) | Suspension::Continue(c) => syn::spanned::Spanned::span(&c.callee),
            Suspension::Join { span, .. } | Suspension::JoinAll { span, .. } => *span,
        }
    }

    /// Every call of a `Callee` this point makes, in order (not
    /// `continue_as_new`, which is a function of the runtime).
    pub(crate) fn calls(&self) -> Vec<&Call> {
        match self {
            Suspension::Call(c) => vec![c],
            Suspension::Join { calls, .. } => calls.iter().collect(),
            Suspension::JoinAll { call, .. } => vec![call],
            Suspension::Continue(_) => Vec::new(),
        }
    }
}

/// `let pat[: ty] = <await><postfix>;`
pub(crate) struct LetBinding {
    pub(crate) pat: Pat,
    pub(crate) ty: Option<Type>,
    pub(crate) postfix: Postfix,
}

/// What follows the `.await` in a `let` initializer.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Postfix {
    /// Nothing: the binding has the point's output type.
    None,
    /// `?`: the binding has the output's success type.
    Try,
    /// Anything else: the type is not known without an annotation.
    Other,
}

/// The kind of a loop with suspension points.
pub(crate) enum LoopKind {
    /// `loop { .. }`
    Loop,
    /// `while cond { .. }` / `while let pat = expr { .. }`
    While,
    /// `for pat in iter { .. }`: `iter` is a variable (or a desugared await) whose items are
    /// visited in order; the remaining items are stored in the state.
    For { pat: Pat, iter: Expr },
}

/// A loop with suspension points.
pub(crate) struct LoopInfo {
    pub(crate) label: Option<Lifetime>,
    pub(crate) kind: LoopKind,
    /// `#[sayiir::max_iterations(N)]` on the loop.
    pub(crate) limit: Option<u64>,
    pub(crate) span: Span,
}

/// How to reach a node from the body's block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Enter {
    /// The node is the suspension point itself.
    Here,
    Then,
    Else,
    Arm(usize),
    LoopBody,
    Scope,
}

/// One step of a path: the node at `index` of the current block, entered as `into`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Step {
    pub(crate) index: usize,
    pub(crate) into: Enter,
}

impl Block {
    /// The block entered by `into` from node `index`.
    pub(crate) fn child(&self, step: Step) -> Option<&Block> {
        match (&self.nodes.get(step.index)?.kind, step.into) {
            (NodeKind::If { then, .. }, Enter::Then) => Some(then),
            (NodeKind::If { else_, .. }, Enter::Else) => else_.as_ref(),
            (NodeKind::Match { arms, .. }, Enter::Arm(i)) => arms.get(i).map(|a| &a.body),
            (NodeKind::Loop { body, .. }, Enter::LoopBody) => Some(body),
            (NodeKind::Scope { block, .. }, Enter::Scope) => Some(block),
            _ => None,
        }
    }

    /// The path from this block to suspension point `point`.
    pub(crate) fn path_to(&self, point: usize) -> Option<Vec<Step>> {
        for (index, node) in self.nodes.iter().enumerate() {
            let inner: Vec<(Enter, &Block)> = match &node.kind {
                NodeKind::Await { point: p, .. } if *p == point => {
                    return Some(vec![Step {
                        index,
                        into: Enter::Here,
                    }]);
                }
                NodeKind::If { then, else_, .. } => {
                    let mut v = vec![(Enter::Then, then)];
                    if let Some(e) = else_ {
                        v.push((Enter::Else, e));
                    }
                    v
                }
                NodeKind::Match { arms, .. } => arms
                    .iter()
                    .enumerate()
                    .map(|(i, a)| (Enter::Arm(i), &a.body))
                    .collect(),
                NodeKind::Loop { body, .. } => vec![(Enter::LoopBody, body)],
                NodeKind::Scope { block, .. } => vec![(Enter::Scope, block)],
                _ => Vec::new(),
            };
            for (into, block) in inner {
                if let Some(mut rest) = block.path_to(point) {
                    rest.insert(0, Step { index, into });
                    return Some(rest);
                }
            }
        }
        None
    }
}

/// How control leaves a statement list, as far as its top-level statements show.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Exit {
    /// Falls through to what follows.
    Normal,
    /// `return` or a panic: nothing after it in the workflow runs.
    Return,
    /// `break`: the innermost loop ends.
    Break,
    /// `continue`: the innermost loop starts its next iteration.
    Continue,
}

/// The first statement that always leaves, unless an earlier one may leave the loop another
/// way (`if c { break; }` before a `return`): then `Normal`, which reaches everything (what the
/// lowering keeps for the code after a point must include every way on).
pub(crate) fn exit_of(stmts: &[Stmt]) -> Exit {
    let mut may_leave = false;
    for s in stmts {
        let definite = match s {
            Stmt::Macro(m) if is_panic(&m.mac) => Some(Exit::Return),
            Stmt::Expr(e, _) => match e {
                Expr::Return(_) => Some(Exit::Return),
                Expr::Macro(m) if is_panic(&m.mac) => Some(Exit::Return),
                Expr::Break(_) => Some(Exit::Break),
                Expr::Continue(_) => Some(Exit::Continue),
                _ => None,
            },
            _ => None,
        };
        if let Some(exit) = definite {
            return if may_leave { Exit::Normal } else { exit };
        }
        may_leave |= leaves_loop(s);
    }
    Exit::Normal
}

/// Whether a statement may `break` or `continue` out of the loop around it (an unlabeled one not
/// inside a loop of its own, or any labeled one).
fn leaves_loop(stmt: &Stmt) -> bool {
    use syn::visit::Visit;
    struct Leaves {
        depth: usize,
        found: bool,
    }
    impl<'ast> Visit<'ast> for Leaves {
        fn visit_expr_break(&mut self, b: &'ast syn::ExprBreak) {
            self.found |= b.label.is_some() || self.depth == 0;
            syn::visit::visit_expr_break(self, b);
        }
        fn visit_expr_continue(&mut self, c: &'ast syn::ExprContinue) {
            self.found |= c.label.is_some() || self.depth == 0;
        }
        fn visit_expr_loop(&mut self, l: &'ast syn::ExprLoop) {
            self.depth += 1;
            syn::visit::visit_expr_loop(self, l);
            self.depth -= 1;
        }
        fn visit_expr_while(&mut self, w: &'ast syn::ExprWhile) {
            self.depth += 1;
            syn::visit::visit_expr_while(self, w);
            self.depth -= 1;
        }
        fn visit_expr_for_loop(&mut self, f: &'ast syn::ExprForLoop) {
            self.depth += 1;
            syn::visit::visit_expr_for_loop(self, f);
            self.depth -= 1;
        }
        fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}
        fn visit_expr_async(&mut self, _: &'ast syn::ExprAsync) {}
        fn visit_item(&mut self, _: &'ast syn::Item) {}
    }
    let mut l = Leaves {
        depth: 0,
        found: false,
    };
    l.visit_stmt(stmt);
    l.found
}

/// Whether a macro call is `panic!`, `unreachable!`, `todo!` or `unimplemented!`.
fn is_panic(m: &syn::Macro) -> bool {
    m.path.segments.last().is_some_and(|s| {
        ["panic", "unreachable", "todo", "unimplemented"].contains(&s.ident.to_string().as_str())
    })
}
