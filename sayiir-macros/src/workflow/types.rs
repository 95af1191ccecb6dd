//! What the macro can tell about the types of a body's variables: a stored variable's type must
//! be named in the state enum, and Rust has no inference for struct fields. A type is known when
//! it is written (a parameter, `let x: T`), yielded by a suspension point, or follows from an
//! expression whose type does not depend on inference (`format!(..)`, `x as T`, `5u8`, a struct
//! literal, ... see `Env::type_of`). A wrong guess cannot change what a program computes: the
//! state's field is then of another type than the value put in it, which rustc rejects.

// Syntax data built once per macro call: variant sizes do not matter.
#![allow(clippy::large_enum_variant)]

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Expr, Ident, Pat, Stmt, Type};

use super::ir::Postfix;
use super::vars::{self, Binding};

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
    /// A standard generic type applied to known types (`Some(x)` → `Option<T>`).
    Apply(Generic, Vec<FieldTy>),
    /// A tuple of known types.
    Tuple(Vec<FieldTy>),
    /// The output of an operator on known types: `<L as core::ops::Add<R>>::Output`.
    Op(&'static str, Box<FieldTy>, Box<FieldTy>),
}

/// The standard generic types the macro builds from known element types.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Generic {
    Option,
    Vec,
    VecDeque,
}

impl Generic {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Generic::Option => "Option",
            Generic::Vec => "Vec",
            Generic::VecDeque => "VecDeque",
        }
    }
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

/// Methods of the primitive numbers that return a value of the receiver's type.
const SAME_TYPE_METHODS: &[&str] = &[
    "min",
    "max",
    "clamp",
    "pow",
    "abs",
    "rem_euclid",
    "div_euclid",
    "rotate_left",
    "rotate_right",
    "swap_bytes",
    "reverse_bits",
    "isqrt",
    "signum",
    "abs_diff",
    "next_power_of_two",
    "floor",
    "ceil",
    "round",
    "trunc",
    "sqrt",
];

/// The primitive types a literal can name without inference.
const PRIMITIVES: &[&str] = &[
    "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize", "f32",
    "f64", "bool", "char",
];

/// An integer or float literal without a suffix (its type comes from its context).
fn is_untyped_number(e: &Expr) -> bool {
    match e {
        Expr::Lit(l) => match &l.lit {
            syn::Lit::Int(i) => i.suffix().is_empty(),
            syn::Lit::Float(f) => f.suffix().is_empty(),
            _ => false,
        },
        Expr::Paren(p) => is_untyped_number(&p.expr),
        _ => false,
    }
}

/// The type of a literal whose type is written in it: a suffixed number, `true`, `'c'`, `"s"`.
fn literal_type(lit: &syn::Lit) -> Option<Type> {
    match lit {
        syn::Lit::Int(i) if !i.suffix().is_empty() => syn::parse_str(i.suffix()).ok(),
        syn::Lit::Float(f) if !f.suffix().is_empty() => syn::parse_str(f.suffix()).ok(),
        syn::Lit::Bool(_) => Some(syn::parse_quote!(bool)),
        syn::Lit::Char(_) => Some(syn::parse_quote!(char)),
        syn::Lit::Str(_) => Some(syn::parse_quote!(&'static str)),
        _ => None,
    }
}

impl FieldTy {
    pub(crate) fn base(base: Base) -> Self {
        Self {
            base,
            proj: Vec::new(),
        }
    }

    /// The written type this type is, with projections resolved where the syntax shows them
    /// (`Option<T>` → `T` for `Ok`, `Result<T, E>` → `E` for `Err`, `Vec<T>` → `T` for items,
    /// `(A, B)` → `B` for field 1). Only a view: the stored form (and so the definition hash)
    /// keeps the projections.
    fn resolved(&self) -> Option<Type> {
        let Base::Written(t) = &self.base else {
            return None;
        };
        let mut t = t.clone();
        for p in &self.proj {
            t = match (p, &t) {
                (Proj::Field(i), Type::Tuple(tt)) => tt.elems.iter().nth(*i)?.clone(),
                (_, Type::Path(tp)) if tp.qself.is_none() => {
                    let last = tp.path.segments.last()?;
                    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
                        return None;
                    };
                    let types: Vec<&Type> = args
                        .args
                        .iter()
                        .filter_map(|a| match a {
                            syn::GenericArgument::Type(t) => Some(t),
                            _ => None,
                        })
                        .collect();
                    let index = match (p, last.ident.to_string().as_str()) {
                        (Proj::Ok, "Option" | "Result") => 0,
                        (Proj::Err, "Result") => 1,
                        (Proj::Item, "Vec" | "VecDeque") => 0,
                        _ => return None,
                    };
                    (*types.get(index)?).clone()
                }
                _ => return None,
            };
        }
        Some(t)
    }

    /// The name of the last path segment of the written type this type is (`String`, `Vec`).
    fn written_head(&self) -> Option<String> {
        match self.resolved()? {
            Type::Path(p) if p.qself.is_none() => Some(p.path.segments.last()?.ident.to_string()),
            _ => None,
        }
    }

    /// The primitive a written type names (`u64`, `bool`, ..).
    fn primitive(&self) -> Option<&'static str> {
        let head = self.written_head()?;
        PRIMITIVES.iter().copied().find(|p| *p == head)
    }

    fn apply(&self) -> Option<(Generic, &[FieldTy])> {
        match (&self.base, self.proj.is_empty()) {
            (Base::Apply(g, args), true) => Some((*g, args)),
            _ => None,
        }
    }

    pub(crate) fn written(t: Type) -> Self {
        Self {
            base: Base::Written(t),
            proj: Vec::new(),
        }
    }

    pub(crate) fn then(&self, p: Proj) -> Self {
        let mut t = self.clone();
        t.proj.push(p);
        t
    }
}

#[derive(Clone)]
pub(crate) struct Var {
    pub(crate) binding: Binding,
    pub(crate) ty: Option<FieldTy>,
    /// Bound by a `match`/`if let`/`for` pattern rather than a `let`.
    pub(crate) from_pattern: bool,
    /// Declared without a value (`let x: T;`), to be assigned later.
    pub(crate) deferred: bool,
    /// Bound to a closure (which has no type that can be named).
    pub(crate) closure: bool,
}

/// Variables in scope, latest declaration of each name last.
#[derive(Default, Clone)]
pub(crate) struct Env {
    pub(crate) vars: Vec<Var>,
    /// `const` and `static` items declared in the body, with their written types: readable
    /// everywhere in it, never stored.
    pub(crate) consts: std::rc::Rc<Vec<(Ident, Type)>>,
}

impl Env {
    pub(crate) fn declare(&mut self, binding: Binding, ty: Option<FieldTy>) {
        self.vars.retain(|v| v.binding.ident != binding.ident);
        self.vars.push(Var {
            binding,
            ty,
            from_pattern: false,
            deferred: false,
            closure: false,
        });
    }

    /// Marks the latest declarations of `pat`'s names as pattern bindings.
    pub(crate) fn mark_pattern(&mut self, pat: &Pat) {
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

    pub(crate) fn lookup(&self, name: &Ident) -> Option<&Var> {
        self.vars.iter().rev().find(|v| v.binding.ident == *name)
    }

    /// The type of an expression, when it follows from the expression itself and the types of
    /// known variables, without inference: see `docs/workflow-rules.md` ("Types of stored
    /// values") for the list.
    pub(crate) fn type_of(&self, e: &Expr) -> Option<FieldTy> {
        match e {
            Expr::Path(p) if p.qself.is_none() => {
                let name = p.path.get_ident()?;
                match self.lookup(name) {
                    Some(v) => v.ty.clone(),
                    None => self
                        .consts
                        .iter()
                        .find(|(c, _)| c == name)
                        .map(|(_, t)| FieldTy::written(t.clone())),
                }
            }
            Expr::Paren(p) => self.type_of(&p.expr),
            Expr::Group(g) => self.type_of(&g.expr),
            Expr::Try(t) => Some(self.type_of(&t.expr)?.then(Proj::Ok)),
            Expr::MethodCall(m) => self.method_type(m),
            // A `match` in plain code: the type of any arm the macro can type (they agree).
            Expr::Match(m) => {
                let scrutinee = self.type_of(&m.expr);
                m.arms.iter().find_map(|arm| {
                    let mut env = self.clone();
                    env.declare_pat(&arm.pat, scrutinee.clone());
                    env.type_of(&arm.body)
                })
            }
            Expr::If(i) => {
                let mut then_env = self.clone();
                if let Expr::Let(l) = &*i.cond {
                    then_env.declare_pat(&l.pat, self.type_of(&l.expr));
                }
                then_env
                    .block_type(&i.then_branch)
                    .or_else(|| self.type_of(&i.else_branch.as_ref()?.1))
            }
            Expr::Block(b) if b.label.is_none() => self.block_type(&b.block),
            // A loop in plain code: its first typed `break` value.
            Expr::Loop(l) => {
                let body = Stmt::Expr(
                    Expr::Block(syn::ExprBlock {
                        attrs: Vec::new(),
                        label: None,
                        block: l.body.clone(),
                    }),
                    None,
                );
                let label = l.label.as_ref().map(|l| &l.name);
                super::collections::broken(self, &body, label, false)
            }
            Expr::Cast(c) => Some(FieldTy::written((*c.ty).clone())),
            Expr::Lit(l) => literal_type(&l.lit).map(FieldTy::written),
            Expr::Macro(m) => self.macro_type(&m.mac),
            Expr::Call(c) => self.call_type(c),
            Expr::Struct(s) if s.qself.is_none() && !s.path.is_ident("Self") => {
                let path = &s.path;
                Some(FieldTy::written(syn::parse_quote!(#path)))
            }
            Expr::Tuple(t) => {
                if t.elems.is_empty() {
                    return Some(FieldTy::written(syn::parse_quote!(())));
                }
                let items: Option<Vec<FieldTy>> = t.elems.iter().map(|e| self.type_of(e)).collect();
                Some(FieldTy::base(Base::Tuple(items?)))
            }
            Expr::Field(f) => match &f.member {
                syn::Member::Unnamed(i) => {
                    Some(self.type_of(&f.base)?.then(Proj::Field(i.index as usize)))
                }
                syn::Member::Named(_) => None,
            },
            Expr::Binary(b) => self.binary_type(b),
            Expr::Unary(u) => match u.op {
                syn::UnOp::Not(_) | syn::UnOp::Neg(_) => {
                    let t = self.type_of(&u.expr)?;
                    t.primitive().is_some().then_some(t)
                }
                _ => None,
            },
            Expr::Index(i) if !matches!(&*i.index, Expr::Range(_)) => {
                let t = self.type_of(&i.expr)?;
                match t.written_head().as_deref() {
                    Some("Vec" | "VecDeque") => Some(t.then(Proj::Item)),
                    _ => match t.apply() {
                        Some((Generic::Vec | Generic::VecDeque, args)) => args.first().cloned(),
                        _ => None,
                    },
                }
            }
            _ => None,
        }
    }

    /// The type of a block's value (its final expression after its `let`s).
    fn block_type(&self, b: &syn::Block) -> Option<FieldTy> {
        let (last, init) = b.stmts.split_last()?;
        let mut env = self.clone();
        for s in init {
            if let Stmt::Local(l) = s {
                let (pat, ty) = match &l.pat {
                    Pat::Type(t) => (&*t.pat, Some(FieldTy::written((*t.ty).clone()))),
                    p => (p, l.init.as_ref().and_then(|i| env.type_of(&i.expr))),
                };
                env.declare_pat(pat, ty);
            }
        }
        match last {
            Stmt::Expr(e, None) => env.type_of(e),
            _ => None,
        }
    }

    fn method_type(&self, m: &syn::ExprMethodCall) -> Option<FieldTy> {
        let name = m.method.to_string();
        let turbofish = || match m.turbofish.as_ref()?.args.first()? {
            syn::GenericArgument::Type(t) => Some(t.clone()),
            _ => None,
        };
        let written = |t: Type| Some(FieldTy::written(t));
        match name.as_str() {
            "clone" if m.args.is_empty() => self.type_of(&m.receiver),
            "to_string" if m.args.is_empty() => written(syn::parse_quote!(::std::string::String)),
            "len" | "count_ones" if m.args.is_empty() && name == "len" => {
                written(syn::parse_quote!(usize))
            }
            "is_empty" | "is_some" | "is_none" | "is_ok" | "is_err" | "contains"
            | "starts_with" | "ends_with" | "eq" | "ne" | "lt" | "le" | "gt" | "ge"
            | "contains_key" => written(syn::parse_quote!(bool)),
            "collect" | "sum" | "product" => written(turbofish()?),
            "parse" => {
                let t = turbofish()?;
                written(syn::parse_quote!(
                    ::core::result::Result<#t, <#t as ::core::str::FromStr>::Err>
                ))
            }
            "unwrap" | "expect" | "unwrap_or" | "unwrap_or_default" | "unwrap_or_else" => {
                Some(self.type_of(&m.receiver)?.then(Proj::Ok))
            }
            "to_owned" if m.args.is_empty() => match &*m.receiver {
                Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(_),
                    ..
                }) => written(syn::parse_quote!(::std::string::String)),
                r => self.type_of(r),
            },
            "to_uppercase" | "to_lowercase" | "repeat" | "replace" | "trim_matches" => {
                match self.type_of(&m.receiver)?.written_head().as_deref() {
                    Some("String") => written(syn::parse_quote!(::std::string::String)),
                    _ => None,
                }
            }
            _ => {
                // Methods of the numbers that return the receiver's own type (also `Ord::min`,
                // `max`, `clamp`). The receiver's type need not be seen to be a number: these
                // names return `Self` wherever they exist, and if a type of your own returned
                // something else, the stored field's type would be a compile error.
                let t = self.type_of(&m.receiver)?;
                if SAME_TYPE_METHODS.contains(&name.as_str())
                    || name.starts_with("wrapping_")
                    || name.starts_with("saturating_")
                {
                    Some(t)
                } else if name.starts_with("checked_") && t.primitive() != Some("bool") {
                    Some(FieldTy::base(Base::Apply(Generic::Option, vec![t])))
                } else {
                    None
                }
            }
        }
    }

    fn macro_type(&self, mac: &syn::Macro) -> Option<FieldTy> {
        let name = mac.path.segments.last()?.ident.to_string();
        match name.as_str() {
            "format" => Some(FieldTy::written(syn::parse_quote!(::std::string::String))),
            "vec" => {
                // `vec![a, b]` or `vec![a; n]`: the element type of the first element.
                let parser = |input: syn::parse::ParseStream<'_>| {
                    let first: Expr = input.parse()?;
                    let _: proc_macro2::TokenStream = input.parse()?;
                    Ok(first)
                };
                let first = syn::parse::Parser::parse2(parser, mac.tokens.clone()).ok()?;
                let item = self.type_of(&first)?;
                Some(FieldTy::base(Base::Apply(Generic::Vec, vec![item])))
            }
            _ => None,
        }
    }

    fn call_type(&self, c: &syn::ExprCall) -> Option<FieldTy> {
        let Expr::Path(f) = &*c.func else {
            return None;
        };
        if f.qself.is_some() {
            return None;
        }
        let segs = &f.path.segments;
        let last = segs.last()?.ident.to_string();
        if segs.len() == 1 {
            return match last.as_str() {
                "Some" if c.args.len() == 1 => {
                    let t = self.type_of(&c.args[0])?;
                    Some(FieldTy::base(Base::Apply(Generic::Option, vec![t])))
                }
                _ => None,
            };
        }
        // `T::from(..)`, `T::default()`, `String::new()`, `Vec::<T>::new()`: the type is the path
        // without its last segment.
        let mut ty_path = f.path.clone();
        ty_path.segments.pop();
        ty_path.segments.pop_punct();
        let head = ty_path.segments.last()?;
        let head_name = head.ident.to_string();
        if [
            "From", "Into", "Default", "TryFrom", "Self", "ToString", "Clone",
        ]
        .contains(&head_name.as_str())
        {
            return None;
        }
        let has_args = !head.arguments.is_none();
        let constructor = match last.as_str() {
            "from" if c.args.len() == 1 => true,
            "default" if c.args.is_empty() => true,
            "new" | "with_capacity" => {
                head_name == "String"
                    || (has_args
                        && [
                            "Vec", "VecDeque", "HashMap", "BTreeMap", "HashSet", "BTreeSet",
                        ]
                        .contains(&head_name.as_str()))
            }
            _ => false,
        };
        if !constructor {
            return None;
        }
        // `Vec::<T>::new()` names the type `Vec::<T>`; in type position that is `Vec<T>`.
        for seg in ty_path.segments.iter_mut() {
            if let syn::PathArguments::AngleBracketed(a) = &mut seg.arguments {
                a.colon2_token = None;
            }
        }
        Some(FieldTy::written(syn::parse_quote!(#ty_path)))
    }

    fn binary_type(&self, b: &syn::ExprBinary) -> Option<FieldTy> {
        use syn::BinOp::*;
        match b.op {
            Eq(_) | Ne(_) | Lt(_) | Le(_) | Gt(_) | Ge(_) | And(_) | Or(_) => {
                Some(FieldTy::written(syn::parse_quote!(bool)))
            }
            Add(_) | Sub(_) | Mul(_) | Div(_) | Rem(_) | BitAnd(_) | BitOr(_) | BitXor(_)
            | Shl(_) | Shr(_) => {
                let op = match b.op {
                    Add(_) => "Add",
                    Sub(_) => "Sub",
                    Mul(_) => "Mul",
                    Div(_) => "Div",
                    Rem(_) => "Rem",
                    BitAnd(_) => "BitAnd",
                    BitOr(_) => "BitOr",
                    BitXor(_) => "BitXor",
                    Shl(_) => "Shl",
                    _ => "Shr",
                };
                let (left, right) = (self.type_of(&b.left), self.type_of(&b.right));
                // An unsuffixed number takes the other operand's type.
                let (left, right) = match (left, right) {
                    (Some(l), None) if is_untyped_number(&b.right) => (l.clone(), l),
                    (None, Some(r)) if is_untyped_number(&b.left) => (r.clone(), r),
                    (Some(l), Some(r)) => (l, r),
                    _ => return None,
                };
                match left.primitive() {
                    Some("bool") if !matches!(b.op, BitAnd(_) | BitOr(_) | BitXor(_)) => None,
                    // A primitive with itself (or shifted by any integer) gives itself.
                    Some(_) => Some(left),
                    None if op == "Add" && left.written_head().as_deref() == Some("String") => {
                        Some(left)
                    }
                    None => Some(FieldTy::base(Base::Op(op, Box::new(left), Box::new(right)))),
                }
            }
            _ => None,
        }
    }

    /// Declares the names of `pat`, typed as far as `ty` (the matched value's type) allows.
    pub(crate) fn declare_pat(&mut self, pat: &Pat, ty: Option<FieldTy>) {
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

/// The type a point's resumed value has under `postfix`.
pub(crate) fn point_type(point: usize, postfix: Postfix) -> Option<FieldTy> {
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
        Base::Apply(g, args) => {
            let args = args.iter().map(|a| ty_tokens(a, p, outputs));
            match g {
                Generic::Option => quote!(#p::Option<#(#args),*>),
                Generic::Vec => quote!(#p::Vec<#(#args),*>),
                Generic::VecDeque => quote!(::std::collections::VecDeque<#(#args),*>),
            }
        }
        Base::Tuple(items) => {
            let items = items.iter().map(|a| ty_tokens(a, p, outputs));
            quote!((#(#items,)*))
        }
        Base::Op(op, l, r) => {
            let op = proc_macro2::Ident::new(op, proc_macro2::Span::call_site());
            let (l, r) = (ty_tokens(l, p, outputs), ty_tokens(r, p, outputs));
            quote!(<#l as ::core::ops::#op<#r>>::Output)
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
