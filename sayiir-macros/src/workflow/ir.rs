//! The analyzed body: statements that suspend, and everything else.
//!
//! New kinds of suspension (joins, sleeps, signals) become new [`Suspension`] variants; new
//! control flow around suspension points (branches, loops) becomes new [`Node`] variants whose
//! children are [`Node`] lists, so lowering and codegen grow by cases rather than by rewrites.

use syn::{Expr, Pat, Path, Stmt, Type};

/// Name of the variable holding the resumed value in generated code.
pub(crate) const HOLE: &str = "__sayiir_resumed";

/// An analyzed workflow body.
pub(crate) struct Body {
    pub(crate) nodes: Vec<Node>,
    pub(crate) points: Vec<Point>,
}

/// One statement of the body.
#[allow(clippy::large_enum_variant)] // built once per statement at compile time
pub(crate) enum Node {
    /// No suspension point inside: runs as part of a transition.
    Plain {
        stmt: Stmt,
        /// The body's final expression (its value is the workflow's output).
        tail: bool,
    },
    /// Starts with a suspension point; `stmt` is the statement with the awaited expression
    /// replaced by [`HOLE`], run when the instance resumes.
    Await {
        point: usize,
        stmt: Stmt,
        /// The statement as written, for liveness of the code before this point resumes.
        original: Stmt,
        tail: bool,
    },
}

/// A suspension point: where the instance is checkpointed and waits.
pub(crate) struct Point {
    pub(crate) what: Suspension,
    /// How the resumed value is bound, for typing carried variables.
    pub(crate) binding: Option<LetBinding>,
}

/// What a suspension point waits for.
pub(crate) enum Suspension {
    /// A call of a `#[task]` or `#[workflow]` function.
    Call(Call),
}

/// `callee(args)`.
pub(crate) struct Call {
    pub(crate) callee: Path,
    pub(crate) args: Vec<Expr>,
}

impl Point {
    pub(crate) fn callee(&self) -> &Path {
        match &self.what {
            Suspension::Call(c) => &c.callee,
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
    /// Nothing: the binding has the callee's return type.
    None,
    /// `?`: the binding has the callee's success type.
    Try,
    /// Anything else: the type is not known without an annotation.
    Other,
}
