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
    let mut f = Pushes {
        env: env.clone(),
        name,
        methods,
        found: None,
    };
    f.visit_stmt(stmt);
    f.found
        .map(|item| FieldTy::base(Base::Apply(g, vec![item])))
}

/// Walks code in order, declaring what it binds, and types the first push it can.
struct Pushes<'a> {
    env: Env,
    name: &'a Ident,
    methods: &'a [&'a str],
    found: Option<FieldTy>,
}

impl Pushes<'_> {
    fn scoped(&mut self, f: impl FnOnce(&mut Self)) {
        let saved = self.env.clone();
        f(self);
        self.env = saved;
    }
}

impl<'ast> Visit<'ast> for Pushes<'_> {
    fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
        if self.found.is_some() {
            return;
        }
        if let Expr::Path(p) = &*m.receiver
            && p.path.is_ident(self.name)
            && self.methods.contains(&m.method.to_string().as_str())
            && m.args.len() == 1
        {
            self.found = self.env.type_of(&m.args[0]);
        }
        syn::visit::visit_expr_method_call(self, m);
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
        self.scoped(|s| {
            s.env.declare_pat(&f.pat, item);
            s.visit_block(&f.body);
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

    fn visit_expr_closure(&mut self, c: &'ast syn::ExprClosure) {
        self.scoped(|s| {
            for p in &c.inputs {
                s.env.declare_pat(p, None);
            }
            s.visit_expr(&c.body);
        });
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
