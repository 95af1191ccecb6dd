//! Stage 1b: scopes end where Rust ends them.
//!
//! The code after a construct that awaits is emitted inside each of its branches, and the
//! variables of a state are keyed by name. So a name bound inside a branch (or a loop body, or a
//! nested block) that the code after the construct also reads would be seen there instead of the
//! outer one. Before analysis, each such binding is renamed, with every use in its scope, to a
//! fresh name (`x` → `x_1`, or the next number not in use); the body then means the same in Rust and reads the same after
//! lowering. Only bindings that collide are renamed, so other state fields keep their names.

use std::collections::{BTreeMap, HashSet};

use proc_macro2::{Literal, Span, TokenStream, TokenTree};
use syn::visit::Visit;
use syn::visit_mut::VisitMut;
use syn::{Expr, Ident, Pat, Stmt};

use super::check::has_suspension;
use super::vars::{self, Binding};

/// Renames the bindings of `body` that would leak out of their scope after lowering; returns
/// each new name with the name as written (for messages).
pub(crate) fn rename_leaking(body: &mut syn::Block, params: &[&Ident]) -> Renamed {
    let mut taken = Idents::default();
    taken.visit_block(body);
    taken.0.extend(params.iter().map(|p| p.to_string()));
    let mut h = Hygiene {
        taken: taken.0,
        counters: BTreeMap::new(),
        renamed: Renamed::new(),
    };
    h.block(&mut body.stmts, &Names::new(), false);
    h.renamed
}

/// New name → name as written.
pub(crate) type Renamed = BTreeMap<String, String>;

type Names = HashSet<String>;

/// Every identifier written in the body, macro arguments included: fresh names avoid them.
#[derive(Default)]
struct Idents(HashSet<String>);

impl<'ast> Visit<'ast> for Idents {
    fn visit_ident(&mut self, i: &'ast Ident) {
        self.0.insert(i.to_string());
    }
    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        fn scan(out: &mut HashSet<String>, ts: TokenStream) {
            for tt in ts {
                match tt {
                    TokenTree::Ident(i) => {
                        out.insert(i.to_string());
                    }
                    TokenTree::Group(g) => scan(out, g.stream()),
                    TokenTree::Literal(l) => out.extend(vars::format_captures(&l.to_string())),
                    TokenTree::Punct(_) => {}
                }
            }
        }
        self.visit_path(&m.path);
        scan(&mut self.0, m.tokens.clone());
    }
}

struct Hygiene {
    taken: HashSet<String>,
    counters: BTreeMap<String, usize>,
    renamed: Renamed,
}

fn free(stmts: &[Stmt]) -> Names {
    vars::free_in(&stmts.iter().collect::<Vec<_>>())
        .into_keys()
        .collect()
}

fn free_expr(e: &Expr) -> Names {
    free(&[Stmt::Expr(e.clone(), None)])
}

fn union(a: &Names, b: Names) -> Names {
    let mut out = a.clone();
    out.extend(b);
    out
}

fn bound_by(pat: &Pat) -> Vec<Binding> {
    let mut b = Vec::new();
    vars::pat_bindings(pat, &mut b);
    b
}

fn binds(pat: &Pat, name: &str) -> bool {
    bound_by(pat).iter().any(|b| b.ident == name)
}

impl Hygiene {
    fn fresh(&mut self, name: &str) -> String {
        let n = self.counters.entry(name.to_owned()).or_insert(0);
        loop {
            *n += 1;
            let candidate = format!("{name}_{n}");
            if self.taken.insert(candidate.clone()) {
                self.renamed.insert(candidate.clone(), name.to_owned());
                return candidate;
            }
        }
    }

    /// A block's statements; `after` is what the code after its construct reads (nothing for
    /// the body itself). In a construct's block, a `let` binding a name of `after` is renamed.
    fn block(&mut self, stmts: &mut [Stmt], after: &Names, construct: bool) {
        if construct {
            for i in 0..stmts.len() {
                let (head, rest) = stmts.split_at_mut(i + 1);
                if let Stmt::Local(l) = &mut head[i] {
                    for b in bound_by(&l.pat) {
                        let name = b.ident.to_string();
                        if after.contains(&name) {
                            let to = self.fresh(&name);
                            rename_pat(&mut l.pat, &name, &to);
                            rename_stmts(rest, &name, &to);
                        }
                    }
                }
            }
        }
        for i in 0..stmts.len() {
            let (head, rest) = stmts.split_at_mut(i + 1);
            let stmt = &mut head[i];
            // What follows the statement's value: for `let pat = <value>;`, the binding of
            // `pat` and the rest of the block (which reads the new binding, not an older one).
            let follows = match stmt {
                Stmt::Local(l) => {
                    let mut binding = l.clone();
                    binding.init = None;
                    let mut code = vec![Stmt::Local(binding)];
                    code.extend(rest.iter().cloned());
                    free(&code)
                }
                _ => free(rest),
            };
            self.stmt(stmt, &union(after, follows));
        }
    }

    fn stmt(&mut self, stmt: &mut Stmt, after: &Names) {
        match stmt {
            Stmt::Local(l) => {
                if let Some(init) = &mut l.init {
                    self.value(&mut init.expr, after);
                }
            }
            Stmt::Expr(Expr::Assign(a), _) => {
                let after = union(after, free_expr(&a.left));
                self.value(&mut a.right, &after);
            }
            Stmt::Expr(Expr::Binary(b), _) => {
                let after = union(after, free_expr(&b.left));
                self.value(&mut b.right, &after);
            }
            Stmt::Expr(Expr::Return(r), _) => {
                if let Some(e) = &mut r.expr {
                    self.value(e, after);
                }
            }
            Stmt::Expr(e, _) => self.value(e, after),
            Stmt::Item(_) | Stmt::Macro(_) => {}
        }
    }

    /// A value computed by a statement: when it is a construct that awaits, its blocks.
    fn value(&mut self, e: &mut Expr, after: &Names) {
        if !has_suspension(e) {
            return;
        }
        match e {
            Expr::Paren(p) => self.value(&mut p.expr, after),
            Expr::Block(b) => self.block(&mut b.block.stmts, after, true),
            Expr::If(i) => self.if_(i, after),
            Expr::Match(m) => {
                for arm in &mut m.arms {
                    for b in bound_by(&arm.pat) {
                        let name = b.ident.to_string();
                        if after.contains(&name) {
                            let to = self.fresh(&name);
                            rename_pat(&mut arm.pat, &name, &to);
                            let mut r = Renamer::new(&name, &to);
                            if let Some((_, g)) = &mut arm.guard {
                                r.visit_expr_mut(g);
                            }
                            r.visit_expr_mut(&mut arm.body);
                        }
                    }
                    self.arm_body(&mut arm.body, after);
                }
            }
            Expr::Loop(_) | Expr::While(_) | Expr::ForLoop(_) => {
                // Another iteration reads what the whole loop reads.
                let again = union(after, free_expr(e));
                match e {
                    Expr::Loop(l) => self.block(&mut l.body.stmts, &again, true),
                    Expr::While(w) => {
                        self.cond(&mut w.cond, &mut w.body, &again);
                        self.block(&mut w.body.stmts, &again, true);
                    }
                    Expr::ForLoop(f) => {
                        self.pattern(&mut f.pat, &mut f.body, &again);
                        self.block(&mut f.body.stmts, &again, true);
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }

    fn arm_body(&mut self, body: &mut Expr, after: &Names) {
        match body {
            Expr::Block(b) if b.label.is_none() => self.block(&mut b.block.stmts, after, true),
            other => self.value(other, after),
        }
    }

    fn if_(&mut self, i: &mut syn::ExprIf, after: &Names) {
        self.cond(&mut i.cond, &mut i.then_branch, after);
        self.block(&mut i.then_branch.stmts, after, true);
        if let Some((_, e)) = &mut i.else_branch {
            match &mut **e {
                Expr::If(inner) => self.if_(inner, after),
                Expr::Block(b) => self.block(&mut b.block.stmts, after, true),
                other => self.value(other, after),
            }
        }
    }

    /// The `let` patterns of an `if`/`while` condition (a `&&` chain): their names are in scope
    /// in the later parts of the condition and in the block.
    fn cond(&mut self, cond: &mut Expr, block: &mut syn::Block, after: &Names) {
        let mut parts = Vec::new();
        chain(cond, &mut parts);
        for i in 0..parts.len() {
            let (head, rest) = parts.split_at_mut(i + 1);
            let Expr::Let(l) = &mut *head[i] else {
                continue;
            };
            for b in bound_by(&l.pat) {
                let name = b.ident.to_string();
                if after.contains(&name) {
                    let to = self.fresh(&name);
                    rename_pat(&mut l.pat, &name, &to);
                    let mut r = Renamer::new(&name, &to);
                    for later in rest.iter_mut() {
                        r.visit_expr_mut(later);
                    }
                    r.visit_block_mut(block);
                }
            }
        }
    }

    /// A `for` pattern: its names are in scope in the body.
    fn pattern(&mut self, pat: &mut Pat, body: &mut syn::Block, after: &Names) {
        for b in bound_by(pat) {
            let name = b.ident.to_string();
            if after.contains(&name) {
                let to = self.fresh(&name);
                rename_pat(pat, &name, &to);
                Renamer::new(&name, &to).visit_block_mut(body);
            }
        }
    }
}

/// The operands of a `&&` chain, in order.
fn chain<'a>(e: &'a mut Expr, out: &mut Vec<&'a mut Expr>) {
    let and = matches!(&*e, Expr::Binary(b) if matches!(b.op, syn::BinOp::And(_)));
    if !and {
        out.push(e);
        return;
    }
    if let Expr::Binary(b) = e {
        chain(&mut b.left, out);
        chain(&mut b.right, out);
    }
}

/// Renames the binding `from` in a pattern (a shorthand struct field keeps its field name).
fn rename_pat(pat: &mut Pat, from: &str, to: &str) {
    struct P<'a>(&'a str, &'a str);
    impl VisitMut for P<'_> {
        fn visit_pat_ident_mut(&mut self, p: &mut syn::PatIdent) {
            if p.ident == self.0 {
                p.ident = Ident::new(self.1, p.ident.span());
            }
            if let Some((_, sub)) = &mut p.subpat {
                self.visit_pat_mut(sub);
            }
        }
        fn visit_field_pat_mut(&mut self, f: &mut syn::FieldPat) {
            // `S { x }` binds the field `x` to `x`: after renaming, `S { x: x__1 }`.
            if f.colon_token.is_none() && matches!(&*f.pat, Pat::Ident(p) if p.ident == self.0) {
                f.colon_token = Some(Default::default());
            }
            self.visit_pat_mut(&mut f.pat);
        }
        fn visit_expr_mut(&mut self, _: &mut Expr) {}
    }
    P(from, to).visit_pat_mut(pat);
}

/// Renames the uses of `from` in a statement list, up to a statement that binds it again.
fn rename_stmts(stmts: &mut [Stmt], from: &str, to: &str) {
    let mut r = Renamer::new(from, to);
    for s in stmts {
        if let Stmt::Local(l) = s {
            if let Some(init) = &mut l.init {
                r.visit_expr_mut(&mut init.expr);
                if let Some((_, e)) = &mut init.diverge {
                    r.visit_expr_mut(e);
                }
            }
            if binds(&l.pat, from) {
                return;
            }
        } else {
            r.visit_stmt_mut(s);
        }
    }
}

/// Renames uses of one variable, following Rust's scopes (an inner binding of the same name
/// hides it).
struct Renamer<'a> {
    from: &'a str,
    to: &'a str,
}

impl<'a> Renamer<'a> {
    fn new(from: &'a str, to: &'a str) -> Self {
        Self { from, to }
    }

    fn ident(&self, span: Span) -> Ident {
        Ident::new(self.to, span)
    }

    /// Renames in a `&&` chain of conditions and the block they guard; a `let` binding the name
    /// hides it from the later conditions and the block.
    fn guarded(&mut self, cond: &mut Expr, block: &mut syn::Block) {
        let mut parts = Vec::new();
        chain(cond, &mut parts);
        for part in parts {
            match part {
                Expr::Let(l) => {
                    self.visit_expr_mut(&mut l.expr);
                    if binds(&l.pat, self.from) {
                        return;
                    }
                }
                other => self.visit_expr_mut(other),
            }
        }
        self.visit_block_mut(block);
    }

    fn tokens(&self, ts: TokenStream) -> TokenStream {
        let tts: Vec<TokenTree> = ts.into_iter().collect();
        let mut out = Vec::with_capacity(tts.len());
        for (i, tt) in tts.iter().enumerate() {
            out.push(match tt {
                TokenTree::Ident(id) if *id == self.from => {
                    let punct = |j: Option<usize>, c: char| {
                        j.and_then(|j| tts.get(j))
                            .is_some_and(|t| matches!(t, TokenTree::Punct(p) if p.as_char() == c))
                    };
                    let after_dot = punct(i.checked_sub(1), '.');
                    let path_tail = punct(i.checked_sub(1), ':') && punct(i.checked_sub(2), ':');
                    let before_bang = punct(Some(i + 1), '!');
                    // `x::..` is a path; `x: ..` a field name or a named argument.
                    let before_colon = punct(Some(i + 1), ':');
                    if after_dot || path_tail || before_bang || before_colon {
                        tt.clone()
                    } else {
                        TokenTree::Ident(self.ident(id.span()))
                    }
                }
                TokenTree::Group(g) => {
                    let mut ng = proc_macro2::Group::new(g.delimiter(), self.tokens(g.stream()));
                    ng.set_span(g.span());
                    TokenTree::Group(ng)
                }
                TokenTree::Literal(l) => {
                    match vars::rename_capture(&l.to_string(), self.from, self.to)
                        .and_then(|s| s.parse::<Literal>().ok())
                    {
                        Some(mut nl) => {
                            nl.set_span(l.span());
                            TokenTree::Literal(nl)
                        }
                        None => tt.clone(),
                    }
                }
                other => other.clone(),
            });
        }
        out.into_iter().collect()
    }
}

impl VisitMut for Renamer<'_> {
    fn visit_block_mut(&mut self, b: &mut syn::Block) {
        rename_stmts(&mut b.stmts, self.from, self.to);
    }

    fn visit_expr_path_mut(&mut self, p: &mut syn::ExprPath) {
        if p.qself.is_none()
            && p.path.leading_colon.is_none()
            && p.path.segments.len() == 1
            && p.path.segments[0].arguments.is_none()
            && p.path.segments[0].ident == self.from
        {
            let span = p.path.segments[0].ident.span();
            p.path.segments[0].ident = self.ident(span);
        }
    }

    fn visit_field_value_mut(&mut self, f: &mut syn::FieldValue) {
        // `S { x }` names the field `x` and reads the variable `x`: after renaming,
        // `S { x: x__1 }`.
        if f.colon_token.is_none() && matches!(&f.member, syn::Member::Named(m) if m == self.from) {
            f.colon_token = Some(Default::default());
        }
        self.visit_expr_mut(&mut f.expr);
    }

    fn visit_expr_closure_mut(&mut self, c: &mut syn::ExprClosure) {
        if !c.inputs.iter().any(|p| binds(p, self.from)) {
            self.visit_expr_mut(&mut c.body);
        }
    }

    fn visit_expr_match_mut(&mut self, m: &mut syn::ExprMatch) {
        self.visit_expr_mut(&mut m.expr);
        for arm in &mut m.arms {
            if binds(&arm.pat, self.from) {
                continue;
            }
            if let Some((_, g)) = &mut arm.guard {
                self.visit_expr_mut(g);
            }
            self.visit_expr_mut(&mut arm.body);
        }
    }

    fn visit_expr_if_mut(&mut self, i: &mut syn::ExprIf) {
        self.guarded(&mut i.cond, &mut i.then_branch);
        if let Some((_, e)) = &mut i.else_branch {
            self.visit_expr_mut(e);
        }
    }

    fn visit_expr_while_mut(&mut self, w: &mut syn::ExprWhile) {
        self.guarded(&mut w.cond, &mut w.body);
    }

    fn visit_expr_for_loop_mut(&mut self, f: &mut syn::ExprForLoop) {
        self.visit_expr_mut(&mut f.expr);
        if !binds(&f.pat, self.from) {
            self.visit_block_mut(&mut f.body);
        }
    }

    fn visit_expr_let_mut(&mut self, l: &mut syn::ExprLet) {
        // A `let` outside an `if`/`while` condition (`matches!`-like uses): its expression only.
        self.visit_expr_mut(&mut l.expr);
    }

    fn visit_macro_mut(&mut self, m: &mut syn::Macro) {
        // Arguments that parse as expressions (`format!`, `assert_eq!`, `vec![a, b]`, ..) are
        // renamed as expressions, which knows `S { x }` from a block; other token trees by
        // token.
        let parser = syn::punctuated::Punctuated::<Expr, syn::Token![,]>::parse_terminated;
        if let Ok(mut args) = syn::parse::Parser::parse2(parser, m.tokens.clone()) {
            for a in args.iter_mut() {
                self.visit_expr_mut(a);
            }
            m.tokens = quote::ToTokens::into_token_stream(args);
            return;
        }
        m.tokens = self.tokens(std::mem::take(&mut m.tokens));
    }

    fn visit_lit_str_mut(&mut self, l: &mut syn::LitStr) {
        // A format string's `{x}` captures.
        if let Some(new) = vars::rename_capture(&l.token().to_string(), self.from, self.to)
            && let Ok(mut lit) = new.parse::<Literal>()
        {
            lit.set_span(l.span());
            if let Ok(renamed) = syn::parse2::<syn::LitStr>(TokenTree::Literal(lit).into()) {
                *l = renamed;
            }
        }
    }

    fn visit_pat_mut(&mut self, _: &mut Pat) {}

    fn visit_item_mut(&mut self, _: &mut syn::Item) {}
}

#[cfg(test)]
#[path = "hygiene_tests.rs"]
mod tests;
