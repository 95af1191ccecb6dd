//! Variables of a workflow body: which names a pattern binds, and which names a piece of code
//! reads from outside itself (its free variables). A variable is carried across a suspension
//! point when it is in scope there and free in the code that runs after it.

use std::collections::{BTreeMap, HashSet};

use proc_macro2::{Span, TokenStream, TokenTree};
use syn::visit::Visit;
use syn::{Ident, Pat};

/// A name bound by a pattern.
#[derive(Clone, Debug)]
pub(crate) struct Binding {
    pub(crate) ident: Ident,
    pub(crate) mutable: bool,
    pub(crate) by_ref: bool,
}

/// Identifiers that look like constants or enum variants rather than bindings (`None`, `MAX`).
fn looks_like_constant(ident: &Ident) -> bool {
    ident
        .to_string()
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_uppercase())
}

/// The names `pat` binds, in order.
pub(crate) fn pat_bindings(pat: &Pat, out: &mut Vec<Binding>) {
    match pat {
        Pat::Ident(p) => {
            if p.subpat.is_none()
                && p.mutability.is_none()
                && p.by_ref.is_none()
                && looks_like_constant(&p.ident)
            {
                return;
            }
            out.push(Binding {
                ident: p.ident.clone(),
                mutable: p.mutability.is_some(),
                by_ref: p.by_ref.is_some(),
            });
            if let Some((_, sub)) = &p.subpat {
                pat_bindings(sub, out);
            }
        }
        Pat::Tuple(t) => t.elems.iter().for_each(|p| pat_bindings(p, out)),
        Pat::TupleStruct(t) => t.elems.iter().for_each(|p| pat_bindings(p, out)),
        Pat::Struct(s) => s.fields.iter().for_each(|f| pat_bindings(&f.pat, out)),
        Pat::Slice(s) => s.elems.iter().for_each(|p| pat_bindings(p, out)),
        Pat::Reference(r) => pat_bindings(&r.pat, out),
        Pat::Type(t) => pat_bindings(&t.pat, out),
        Pat::Paren(p) => pat_bindings(&p.pat, out),
        // Every alternative binds the same names.
        Pat::Or(o) => {
            if let Some(first) = o.cases.first() {
                pat_bindings(first, out);
            }
        }
        _ => {}
    }
}

/// Free variables of some code, with the span of each one's first occurrence.
#[derive(Default)]
pub(crate) struct FreeVars {
    scopes: Vec<HashSet<String>>,
    pub(crate) free: BTreeMap<String, Span>,
}

impl FreeVars {
    pub(crate) fn new() -> Self {
        Self {
            scopes: vec![HashSet::new()],
            free: BTreeMap::new(),
        }
    }

    fn bind_pat(&mut self, pat: &Pat) {
        let mut b = Vec::new();
        pat_bindings(pat, &mut b);
        if let Some(scope) = self.scopes.last_mut() {
            scope.extend(b.into_iter().map(|b| b.ident.to_string()));
        }
    }

    fn use_name(&mut self, name: String, span: Span) {
        if !self.scopes.iter().any(|s| s.contains(&name)) {
            self.free.entry(name).or_insert(span);
        }
    }

    fn scoped(&mut self, f: impl FnOnce(&mut Self)) {
        self.scopes.push(HashSet::new());
        f(self);
        self.scopes.pop();
    }

    /// Names read inside macro arguments: identifiers not preceded by `.` (a field or method)
    /// and not followed by `!` (a macro), plus `{name}` captures in string literals.
    fn scan_tokens(&mut self, tokens: TokenStream) {
        let tts: Vec<TokenTree> = tokens.into_iter().collect();
        for (i, tt) in tts.iter().enumerate() {
            match tt {
                TokenTree::Ident(id) => {
                    let after_dot =
                        i > 0 && matches!(&tts[i - 1], TokenTree::Punct(p) if p.as_char() == '.');
                    let before_bang =
                        matches!(tts.get(i + 1), Some(TokenTree::Punct(p)) if p.as_char() == '!');
                    let colon =
                        |j: usize| matches!(&tts[j], TokenTree::Punct(p) if p.as_char() == ':');
                    // `a::x` is a path; `S { f: x }` reads `x`; `f: ..` names a field.
                    let path_tail = i > 1 && colon(i - 1) && colon(i - 2);
                    let field_name = i + 1 < tts.len() && colon(i + 1);
                    if !after_dot && !before_bang && !path_tail && !field_name {
                        self.use_name(id.to_string(), id.span());
                    }
                }
                TokenTree::Group(g) => self.scan_tokens(g.stream()),
                TokenTree::Literal(l) => {
                    for name in format_captures(&l.to_string()) {
                        self.use_name(name, l.span());
                    }
                }
                TokenTree::Punct(_) => {}
            }
        }
    }
}

/// `{name}` and `{name:…}` captures of a format string literal (its source text), with the
/// byte range of each name in that text.
fn capture_ranges(lit: &str) -> Vec<(usize, usize)> {
    let offset = if lit.starts_with('"') {
        1
    } else if lit.starts_with("r\"") || lit.starts_with("r#") {
        lit.find('"').map_or(lit.len(), |i| i + 1)
    } else {
        return Vec::new();
    };
    let body = &lit[offset..];
    let mut out = Vec::new();
    let mut chars = body.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c != '{' {
            continue;
        }
        if chars.peek().is_some_and(|(_, n)| *n == '{') {
            chars.next();
            continue;
        }
        let rest = &body[i + 1..];
        let end = rest.find(['}', ':']).unwrap_or(0);
        let name = &rest[..end];
        let ident_like = name
            .chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_alphanumeric() || c == '_');
        if ident_like {
            let start = offset + i + 1;
            out.push((start, start + end));
        }
    }
    out
}

/// `{name}` and `{name:…}` captures of a format string literal.
pub(crate) fn format_captures(lit: &str) -> Vec<String> {
    capture_ranges(lit)
        .into_iter()
        .map(|(a, b)| lit[a..b].to_owned())
        .collect()
}

/// The literal's source text with its `{from}` captures renamed to `to`, if it has any.
pub(crate) fn rename_capture(lit: &str, from: &str, to: &str) -> Option<String> {
    let ranges: Vec<_> = capture_ranges(lit)
        .into_iter()
        .filter(|&(a, b)| &lit[a..b] == from)
        .collect();
    if ranges.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(lit.len() + ranges.len() * 4);
    let mut at = 0;
    for (a, b) in ranges {
        out.push_str(&lit[at..a]);
        out.push_str(to);
        at = b;
    }
    out.push_str(&lit[at..]);
    Some(out)
}

impl<'ast> Visit<'ast> for FreeVars {
    fn visit_block(&mut self, b: &'ast syn::Block) {
        self.scoped(|s| b.stmts.iter().for_each(|st| s.visit_stmt(st)));
    }

    fn visit_local(&mut self, l: &'ast syn::Local) {
        if let Some(init) = &l.init {
            self.visit_expr(&init.expr);
            if let Some((_, diverge)) = &init.diverge {
                self.visit_expr(diverge);
            }
        }
        self.bind_pat(&l.pat);
    }

    fn visit_expr_closure(&mut self, c: &'ast syn::ExprClosure) {
        self.scoped(|s| {
            c.inputs.iter().for_each(|p| s.bind_pat(p));
            s.visit_expr(&c.body);
        });
    }

    fn visit_expr_for_loop(&mut self, f: &'ast syn::ExprForLoop) {
        self.visit_expr(&f.expr);
        self.scoped(|s| {
            s.bind_pat(&f.pat);
            s.visit_block(&f.body);
        });
    }

    fn visit_expr_match(&mut self, m: &'ast syn::ExprMatch) {
        self.visit_expr(&m.expr);
        for arm in &m.arms {
            self.scoped(|s| {
                s.bind_pat(&arm.pat);
                if let Some((_, g)) = &arm.guard {
                    s.visit_expr(g);
                }
                s.visit_expr(&arm.body);
            });
        }
    }

    fn visit_expr_if(&mut self, i: &'ast syn::ExprIf) {
        self.scoped(|s| {
            s.visit_expr(&i.cond);
            s.visit_block(&i.then_branch);
        });
        if let Some((_, e)) = &i.else_branch {
            self.visit_expr(e);
        }
    }

    fn visit_expr_while(&mut self, w: &'ast syn::ExprWhile) {
        self.scoped(|s| {
            s.visit_expr(&w.cond);
            s.visit_block(&w.body);
        });
    }

    fn visit_expr_let(&mut self, l: &'ast syn::ExprLet) {
        self.visit_expr(&l.expr);
        self.bind_pat(&l.pat);
    }

    fn visit_expr_path(&mut self, p: &'ast syn::ExprPath) {
        if p.qself.is_none() && p.path.leading_colon.is_none() && p.path.segments.len() == 1 {
            let seg = &p.path.segments[0];
            if seg.arguments.is_none() {
                self.use_name(seg.ident.to_string(), seg.ident.span());
            }
        }
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        self.scan_tokens(m.tokens.clone());
    }

    fn visit_item(&mut self, _: &'ast syn::Item) {}
}

/// Names assigned (`x = ..`) somewhere in the code visited: a variable declared without a
/// value (`let x: T;`) holds one after such code.
#[derive(Default)]
pub(crate) struct Assigned(pub(crate) HashSet<String>);

impl<'ast> Visit<'ast> for Assigned {
    fn visit_expr_assign(&mut self, a: &'ast syn::ExprAssign) {
        if let syn::Expr::Path(p) = &*a.left
            && let Some(id) = p.path.get_ident()
        {
            self.0.insert(id.to_string());
        }
        syn::visit::visit_expr_assign(self, a);
    }

    fn visit_item(&mut self, _: &'ast syn::Item) {}
}

/// The value of the first `name = value` in `stmt` (closures and items aside), or of a
/// compound assignment (`name += value`: for the numbers, and most types, `x += v` takes a `v`
/// of `x`'s type; where it does not, the guess is a compile error, not another program).
pub(crate) fn assigned_value<'a>(stmt: &'a syn::Stmt, name: &Ident) -> Option<&'a syn::Expr> {
    struct Find<'a, 'n> {
        name: &'n Ident,
        found: Option<&'a syn::Expr>,
    }
    impl<'a> Visit<'a> for Find<'a, '_> {
        fn visit_expr_assign(&mut self, a: &'a syn::ExprAssign) {
            if self.found.is_none()
                && let syn::Expr::Path(p) = &*a.left
                && p.path.is_ident(self.name)
            {
                self.found = Some(&a.right);
            }
            syn::visit::visit_expr_assign(self, a);
        }
        fn visit_expr_binary(&mut self, b: &'a syn::ExprBinary) {
            use syn::BinOp::*;
            let compound = matches!(
                b.op,
                AddAssign(_) | SubAssign(_) | MulAssign(_) | DivAssign(_) | RemAssign(_)
            );
            if compound
                && self.found.is_none()
                && let syn::Expr::Path(p) = &*b.left
                && p.path.is_ident(self.name)
            {
                self.found = Some(&b.right);
            }
            syn::visit::visit_expr_binary(self, b);
        }
        fn visit_expr_closure(&mut self, _: &'a syn::ExprClosure) {}
        fn visit_item(&mut self, _: &'a syn::Item) {}
    }
    let mut f = Find { name, found: None };
    f.visit_stmt(stmt);
    f.found
}

/// Free variables of a statement list followed by an optional expression.
pub(crate) fn free_in(stmts: &[&syn::Stmt]) -> BTreeMap<String, Span> {
    let mut v = FreeVars::new();
    for s in stmts {
        v.visit_stmt(s);
    }
    v.free
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    fn free(block: syn::Block) -> Vec<String> {
        let stmts: Vec<&syn::Stmt> = block.stmts.iter().collect();
        free_in(&stmts).into_keys().collect()
    }

    #[test]
    fn sequential_shadowing_and_scopes() {
        let f = free(parse_quote!({
            let y = x + 1;
            let x = y;
            {
                let z = w;
            }
            z + x
        }));
        assert_eq!(f, ["w", "x", "z"]);
    }

    #[test]
    fn closures_matches_and_loops_bind() {
        let f = free(parse_quote!({
            let v: Vec<u32> = items.iter().map(|i| i + k).collect();
            match v.first() {
                Some(a) => a + b,
                None => c,
            }
            for e in list {
                e + d;
            }
            if let Some(q) = opt { q } else { r }
        }));
        assert_eq!(f, ["b", "c", "d", "items", "k", "list", "opt", "r"]);
    }

    #[test]
    fn macros_and_format_captures() {
        let f = free(parse_quote!({
            println!("{a} {b:?} {{c}} {}", d.e, f = g);
            let _ = vec![h; n];
            other!(x.y);
        }));
        assert_eq!(f, ["a", "b", "d", "f", "g", "h", "n", "x"]);
    }

    #[test]
    fn patterns_bind_names_not_constants() {
        let mut b = Vec::new();
        pat_bindings(
            &parse_quote!((mut a, Some(ref b), Point { x, y: [c, ..] }, None, _)),
            &mut b,
        );
        let names: Vec<_> = b
            .iter()
            .map(|b| (b.ident.to_string(), b.mutable, b.by_ref))
            .collect();
        assert_eq!(
            names,
            [
                ("a".into(), true, false),
                ("b".into(), false, true),
                ("x".into(), false, false),
                ("c".into(), false, false)
            ]
        );
    }
}
