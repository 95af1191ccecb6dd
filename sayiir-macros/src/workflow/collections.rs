//! The element type of a collection created empty (`let mut v = Vec::new();`): Rust infers it
//! from what is pushed later, or from the workflow's return type, and so must the macro when the
//! collection is kept across an await.

use syn::visit::Visit;
use syn::{Expr, Ident, Pat, Stmt, Type};

use super::types::{Base, Env, FieldTy, Generic, Proj};

/// The collection an initializer creates empty: `Vec::new()`, `Vec::with_capacity(n)`,
/// `vec![]`, `VecDeque::new()`, `VecDeque::with_capacity(n)`.
pub(crate) fn empty_collection(init: &Expr) -> Option<Generic> {
    match init {
        Expr::Macro(m) if m.mac.path.is_ident("vec") && m.mac.tokens.is_empty() => {
            Some(Generic::Vec)
        }
        Expr::Call(c) => {
            let Expr::Path(f) = &*c.func else {
                return None;
            };
            let segs = &f.path.segments;
            if f.qself.is_some() || segs.len() != 2 || !segs[0].arguments.is_none() {
                return None;
            }
            let ctor = segs[1].ident.to_string();
            if !(ctor == "new" && c.args.is_empty() || ctor == "with_capacity" && c.args.len() == 1)
            {
                return None;
            }
            match segs[0].ident.to_string().as_str() {
                "Vec" => Some(Generic::Vec),
                "VecDeque" => Some(Generic::VecDeque),
                _ => None,
            }
        }
        _ => None,
    }
}

/// The element type `stmt` shows for collection `name`: the type of a value it pushes.
pub(crate) fn pushed(env: &Env, stmt: &Stmt, name: &Ident, g: Generic) -> Option<FieldTy> {
    let methods: &[&str] = match g {
        Generic::Vec => &["push"],
        Generic::VecDeque => &["push_back", "push_front"],
        Generic::Option => return None,
    };
    let pick = |env: &Env, e: &Expr, _: usize| match e {
        Expr::MethodCall(m)
            if matches!(&*m.receiver, Expr::Path(p) if p.path.is_ident(name))
                && methods.contains(&m.method.to_string().as_str())
                && m.args.len() == 1 =>
        {
            env.type_of(&m.args[0])
        }
        _ => None,
    };
    first_typed(env, stmt, &pick).map(|item| FieldTy::base(Base::Apply(g, vec![item])))
}

/// The type of the first value `stmt` breaks out of a loop with (`break v`, unlabeled at the
/// loop's own level, or `break 'label v`).
/// In a loop `nested` in the one whose value is asked, only labeled breaks count.
pub(crate) fn broken(
    env: &Env,
    stmt: &Stmt,
    label: Option<&syn::Lifetime>,
    nested: bool,
) -> Option<FieldTy> {
    let pick = |env: &Env, e: &Expr, depth: usize| match e {
        Expr::Break(b) => {
            let ours = match (&b.label, label) {
                (Some(l), Some(own)) => l.ident == own.ident,
                (Some(_), None) => false,
                (None, _) => depth == 0 && !nested,
            };
            if ours {
                env.type_of(b.expr.as_deref()?)
            } else {
                None
            }
        }
        _ => None,
    };
    first_typed(env, stmt, &pick)
}

/// What a `pick` finds first in `stmt`, walked in order with the variables it declares (and
/// the depth of loops nested in it).
type Pick<'p> = dyn Fn(&Env, &Expr, usize) -> Option<FieldTy> + 'p;

fn first_typed(env: &Env, stmt: &Stmt, pick: &Pick<'_>) -> Option<FieldTy> {
    let mut f = Walk {
        env: env.clone(),
        pick,
        depth: 0,
        found: None,
    };
    f.visit_stmt(stmt);
    f.found
}

struct Walk<'p> {
    env: Env,
    pick: &'p Pick<'p>,
    /// Loops entered inside the statement.
    depth: usize,
    found: Option<FieldTy>,
}

impl Walk<'_> {
    fn scoped(&mut self, f: impl FnOnce(&mut Self)) {
        let saved = self.env.clone();
        f(self);
        self.env = saved;
    }

    fn nested_loop(&mut self, f: impl FnOnce(&mut Self)) {
        self.depth += 1;
        self.scoped(f);
        self.depth -= 1;
    }
}

impl<'ast> Visit<'ast> for Walk<'_> {
    fn visit_expr(&mut self, e: &'ast Expr) {
        if self.found.is_some() {
            return;
        }
        self.found = (self.pick)(&self.env, e, self.depth);
        if self.found.is_none() {
            syn::visit::visit_expr(self, e);
        }
    }

    fn visit_block(&mut self, b: &'ast syn::Block) {
        self.scoped(|s| b.stmts.iter().for_each(|st| s.visit_stmt(st)));
    }

    fn visit_local(&mut self, l: &'ast syn::Local) {
        if let Some(init) = &l.init {
            self.visit_expr(&init.expr);
        }
        let (pat, ty) = match &l.pat {
            Pat::Type(t) => (&*t.pat, Some(FieldTy::written((*t.ty).clone()))),
            p => (p, l.init.as_ref().and_then(|i| self.env.type_of(&i.expr))),
        };
        self.env.declare_pat(pat, ty);
    }

    fn visit_expr_for_loop(&mut self, f: &'ast syn::ExprForLoop) {
        self.visit_expr(&f.expr);
        let item = self.env.type_of(&f.expr).map(|t| t.then(Proj::Item));
        self.nested_loop(|s| {
            s.env.declare_pat(&f.pat, item);
            s.visit_block(&f.body);
        });
    }

    fn visit_expr_loop(&mut self, l: &'ast syn::ExprLoop) {
        self.nested_loop(|s| s.visit_block(&l.body));
    }

    fn visit_expr_while(&mut self, w: &'ast syn::ExprWhile) {
        self.nested_loop(|s| {
            s.visit_expr(&w.cond);
            s.visit_block(&w.body);
        });
    }

    fn visit_expr_match(&mut self, m: &'ast syn::ExprMatch) {
        self.visit_expr(&m.expr);
        let scrutinee = self.env.type_of(&m.expr);
        for arm in &m.arms {
            self.scoped(|s| {
                s.env.declare_pat(&arm.pat, scrutinee.clone());
                s.visit_expr(&arm.body);
            });
        }
    }

    fn visit_expr_if(&mut self, i: &'ast syn::ExprIf) {
        self.scoped(|s| {
            if let Expr::Let(l) = &*i.cond {
                s.visit_expr(&l.expr);
                let ty = s.env.type_of(&l.expr);
                s.env.declare_pat(&l.pat, ty);
            } else {
                s.visit_expr(&i.cond);
            }
            s.visit_block(&i.then_branch);
        });
        if let Some((_, e)) = &i.else_branch {
            self.visit_expr(e);
        }
    }

    fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {
        // A closure's `break`s and pushes run when it is called: not followed.
    }

    fn visit_item(&mut self, _: &'ast syn::Item) {}
}

/// The collection's type when `stmt` returns it from the workflow (`return v`, `return Ok(v)`,
/// or, with `tail`, as the body's final value): the return type, or its success type.
pub(crate) fn returned(stmt: &Stmt, name: &Ident, tail: bool, output: &Type) -> Option<FieldTy> {
    struct Returns<'a> {
        name: &'a Ident,
        found: Option<bool>,
    }
    impl<'ast> Visit<'ast> for Returns<'_> {
        fn visit_expr_return(&mut self, r: &'ast syn::ExprReturn) {
            if let Some(e) = &r.expr
                && self.found.is_none()
            {
                self.found = returns(e, self.name);
            }
        }
        fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}
        fn visit_item(&mut self, _: &'ast syn::Item) {}
    }
    let mut r = Returns { name, found: None };
    r.visit_stmt(stmt);
    if r.found.is_none()
        && tail
        && let Stmt::Expr(e, None) = stmt
    {
        r.found = returns(e, name);
    }
    let t = FieldTy::written(output.clone());
    Some(if r.found? { t.then(Proj::Ok) } else { t })
}

/// `Some(false)` for `name`, `Some(true)` for `Ok(name)` / `Some(name)`.
fn returns(e: &Expr, name: &Ident) -> Option<bool> {
    match e {
        Expr::Path(p) if p.path.is_ident(name) => Some(false),
        Expr::Call(c) if c.args.len() == 1 => {
            let Expr::Path(f) = &*c.func else {
                return None;
            };
            let wrap = f.path.is_ident("Ok") || f.path.is_ident("Some");
            match &c.args[0] {
                Expr::Path(p) if wrap && p.path.is_ident(name) => Some(true),
                _ => None,
            }
        }
        _ => None,
    }
}
