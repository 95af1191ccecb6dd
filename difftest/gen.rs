//! The program generator: random workflow bodies from a grammar of the subset that
//! `docs/workflow-rules.md` allows. Plain std only: `build.rs` includes this file with
//! `#[path]` and writes the programs into `OUT_DIR`, where `tests/diff.rs` includes them.
//!
//! Every body is well-typed Rust for the fixed signature `async fn pN(x: u64) ->
//! Result<u64, String>` with the tasks `add`, `mul` (`u64`), `check` (`Result<u64, String>`),
//! `maybe` (`Option<u64>`) and `items` (`Vec<u64>`) in scope, and its result is deterministic:
//!
//! - every `u64` value stays far below overflow: expressions are reduced `% 1000` (with
//!   `wrapping_*` inside), tasks return values below 1000, so `+=` never overflows;
//! - every loop terminates within a few iterations: `loop`/`while` bodies start by bumping a
//!   guard counter (`gN`) that nothing else assigns, `for` loops run over lists of at most four
//!   items;
//! - every variable is initialized (deferred `let v: u64;` is assigned on every path).

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::fmt::Write as _;

/// A feature of the grammar: its name, whether it is on by default, and what it covers (for a
/// feature that is off by default: why).
pub(crate) struct Feature {
    pub(crate) name: &'static str,
    pub(crate) default: bool,
    pub(crate) about: &'static str,
}

/// Every feature. Those off by default are the ones today's macro refuses or miscompiles
/// (see difftest/README.md for the failing programs).
pub(crate) const FEATURES: &[Feature] = &[
    Feature { name: "if", default: true, about: "`if` / `else if` / `else` around awaits" },
    Feature { name: "if_let", default: true, about: "`if let Some(v) = maybe(..).await` / `if let Ok(v) = check(..).await` / `if let Some(v) = o`" },
    Feature { name: "match", default: true, about: "`match` on a task result or a value, with guards, bindings, `|` patterns" },
    Feature { name: "loop", default: true, about: "`loop` with a guard counter and conditional `break`" },
    Feature { name: "loop_value", default: true, about: "`let v: u64 = loop { .. break value; .. };`" },
    Feature { name: "while", default: true, about: "`while gN < K && cond { .. }`" },
    Feature { name: "while_let", default: true, about: "`while let Some(v) = maybe(..).await { .. }`" },
    Feature { name: "for", default: true, about: "`for i in list.clone() { .. }` over a `Vec<u64>` variable" },
    Feature { name: "for_task", default: true, about: "`for i in items(..).await { .. }` (its body starts with an await unless `for_task_plain_body`)" },
    Feature { name: "for_task_plain_body", default: false, about: "OFF: `for i in items(..).await { .. }` whose body may have no await; refused (\"the items of a `for` loop that awaits .. type must be known\")" },
    Feature { name: "labels", default: true, about: "labeled loops, `break 'l` / `continue 'l` from inner loops, across awaits" },
    Feature { name: "break_continue", default: true, about: "`if c { break; }` / `if c { continue; }` inside loops" },
    Feature { name: "await_then_exit", default: false, about: "OFF: an await followed by `break` / `return` in the same block inside a loop (`if c { v = add(..).await; break; }`, `return check(..).await;`); the generated resume code names undefined `__sayiir_count_N` / `__sayiir_iter_N`" },
    Feature { name: "block", default: true, about: "nested plain `{ .. }` blocks around awaits" },
    Feature { name: "return", default: true, about: "early `return Ok(..)` / `return Err(..)` inside branches and loops" },
    Feature { name: "try", default: true, about: "`?` on `check(..).await`" },
    Feature { name: "join", default: true, about: "`let (a, b) = sayiir::join!(add(..), mul(..)).await;`" },
    Feature { name: "try_join", default: true, about: "`let (a, b) = sayiir::try_join!(check(..), check(..)).await?;`" },
    Feature { name: "join_all", default: true, about: "`sayiir::join_all(l.iter().map(|i| add(*i, e))).await` and `try_join_all(..).await?`" },
    Feature { name: "assign", default: true, about: "`v = e;` / `v = add(..).await;` to outer `let mut` variables, from any depth" },
    Feature { name: "compound_assign", default: true, about: "`v += e;` / `v += mul(..).await;` / `v += check(..).await?;`" },
    Feature { name: "value_exprs", default: true, about: "`let v: u64 = if .. { add(..).await } else { .. };`, value `match` and value blocks" },
    Feature { name: "await_chain", default: true, about: "`let v: u64 = add(..).await.wrapping_mul(3).rem_euclid(1000);`, `check(..).await.unwrap_or(5)`" },
    Feature { name: "await_heads", default: true, about: "awaits at the head of conditions and scrutinees: `if check(..).await.is_ok()`, `while maybe(..).await.is_some()`, `match add(..).await.rem_euclid(4)`" },
    Feature { name: "value_await", default: true, about: "a value `if`/`match`/block whose value is an await: `if c { add(..).await } else { .. }`, `.. => check(..).await?`" },
    Feature { name: "await_stmt", default: true, about: "awaits as statements: `add(..).await;`, `check(..).await?;`" },
    Feature { name: "return_await", default: true, about: "`if c { return check(..).await; }` (outside loops unless `await_then_exit`)" },
    Feature { name: "tail_await", default: true, about: "the body ends with `check(..).await` instead of `Ok(..)`" },
    Feature { name: "option_vars", default: true, about: "`let o = maybe(..).await;` variables, read later with `unwrap_or` / `if let`" },
    Feature { name: "list_vars", default: true, about: "`let l = items(..).await;` and `let l: Vec<u64> = vec![..];` variables" },
    Feature { name: "shadow_top", default: true, about: "re-binding a name in the same block it was declared in (`let x = add(x, 1).await;`)" },
    Feature { name: "shadow_nested", default: false, about: "OFF: a `let` (or a pattern binding) in a branch / block / loop body shadowing an outer name that is read after the construct; the macro rejects it or the shadow leaks out" },
    Feature { name: "items", default: false, about: "OFF: `const K: u64 = ..;` / `fn h(a: u64) -> u64 { .. }` declared in the body and used after an await; the macro drops them after the first await" },
    Feature { name: "match_return_err", default: true, about: "`let v = match check(..).await { Ok(o) => o, Err(e) => return Err(e) };` (also on `split`, a `Result<Vec<u64>, String>`)" },
    Feature { name: "deferred_init", default: false, about: "OFF: `let v: u64; if c { v = add(..).await; } else { v = e; }`; refused" },
    Feature { name: "if_else_none", default: true, about: "`let o: Option<u64> = if c { maybe(..).await } else { None };` (un-annotated with `infer_lets`)" },
    Feature { name: "infer_lets", default: false, about: "OFF: carried variables without a type annotation (`let v = e;`, value `if`s, arm bindings on plain values); the macro asks for annotations" },
];

/// The set of features turned on.
#[derive(Clone, Debug)]
pub(crate) struct Features(BTreeSet<&'static str>);

impl Features {
    /// The default set.
    pub(crate) fn defaults() -> Self {
        Features(FEATURES.iter().filter(|f| f.default).map(|f| f.name).collect())
    }

    /// The defaults changed by `spec`: comma-separated `+name` / `-name` (or `name`), or
    /// `all` / `none` / `default` to start from.
    pub(crate) fn parse(spec: &str) -> Result<Self, String> {
        let mut set = Self::defaults();
        for part in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match part {
                "all" => set = Features(FEATURES.iter().map(|f| f.name).collect()),
                "none" => set = Features(BTreeSet::new()),
                "default" => set = Self::defaults(),
                _ => {
                    let (on, name) = match part.strip_prefix('-') {
                        Some(n) => (false, n),
                        None => (true, part.strip_prefix('+').unwrap_or(part)),
                    };
                    let Some(f) = FEATURES.iter().find(|f| f.name == name) else {
                        return Err(format!("unknown feature `{name}` in `{spec}`"));
                    };
                    if on {
                        set.0.insert(f.name);
                    } else {
                        set.0.remove(f.name);
                    }
                }
            }
        }
        Ok(set)
    }

    pub(crate) fn has(&self, name: &str) -> bool {
        self.0.contains(name)
    }

    pub(crate) fn names(&self) -> Vec<&'static str> {
        self.0.iter().copied().collect()
    }
}

/// splitmix64.
#[derive(Clone)]
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    pub(crate) fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }

    /// True with probability `num / den`.
    pub(crate) fn chance(&mut self, num: u64, den: u64) -> bool {
        self.next() % den < num
    }

    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }
}

/// The seed of program `index` of a run seeded with `seed` (independent of the program count,
/// so program 17 is the same whether 300 or 3000 are generated).
pub(crate) fn program_seed(seed: u64, index: usize) -> u64 {
    let mut r = Rng(seed ^ (index as u64).wrapping_mul(0xA24B_AED4_963E_E407));
    r.next()
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Ty {
    U64,
    List,
    Opt,
    Str,
}

#[derive(Clone, Debug)]
struct Var {
    name: String,
    ty: Ty,
    mutable: bool,
    /// A loop guard: read freely, never assigned or shadowed by generated statements.
    guard: bool,
    /// The macro can name its type (annotated, or what a point yields, or derived from one).
    typed: bool,
}

#[derive(Clone, Debug)]
enum Item {
    Const(String),
    Fn(String),
}

#[derive(Clone, Debug)]
struct Loop {
    label: Option<String>,
    /// `break` must carry a `u64` (a `let v = loop { .. }`).
    value: bool,
}

/// Limits of one program.
const MAX_DEPTH: usize = 3;
const MAX_LOOP_NESTING: usize = 2;

struct Gen<'a> {
    rng: Rng,
    f: &'a Features,
    out: String,
    ind: usize,
    scopes: Vec<Vec<Var>>,
    items: Vec<Vec<Item>>,
    loops: Vec<Loop>,
    next: usize,
    /// Await statements still allowed.
    awaits: usize,
    /// Statements still allowed (keeps the code size bounded).
    stmts: usize,
}

/// Generates the body (without the braces of the fn) of program `index`.
pub(crate) fn generate(seed: u64, index: usize, f: &Features) -> String {
    let mut rng = Rng(program_seed(seed, index));
    let awaits = rng.range(3, 7) as usize;
    let stmts = rng.range(8, 18) as usize;
    let mut g = Gen {
        rng,
        f,
        out: String::new(),
        ind: 1,
        scopes: vec![vec![Var {
            name: "x".into(),
            ty: Ty::U64,
            mutable: false,
            guard: false,
            typed: true,
        }]],
        items: vec![Vec::new()],
        loops: Vec::new(),
        next: 0,
        awaits,
        stmts,
    };
    let n = g.rng.range(3, 6);
    for _ in 0..n {
        g.stmt(0);
    }
    // Spend what is left of the await budget at the top level, so most programs have several.
    while g.awaits > 0 && g.stmts > 0 {
        g.stmt(0);
    }
    let tail = g.combine_all();
    if g.has("tail_await") && g.rng.chance(1, 4) {
        g.line(&format!("check({tail} % 1000).await"));
    } else {
        g.line(&format!("Ok({tail})"));
    }
    g.out
}

impl Gen<'_> {
    fn has(&self, name: &str) -> bool {
        self.f.has(name)
    }

    fn line(&mut self, s: &str) {
        for _ in 0..self.ind {
            self.out.push_str("    ");
        }
        self.out.push_str(s);
        self.out.push('\n');
    }

    fn fresh(&mut self, prefix: &str) -> String {
        self.next += 1;
        format!("{prefix}{}", self.next)
    }

    fn vars(&self) -> impl Iterator<Item = &Var> {
        // Innermost last; a shadowed name is only the innermost binding.
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for scope in self.scopes.iter().rev() {
            for v in scope.iter().rev() {
                if seen.insert(v.name.clone()) {
                    out.push(v);
                }
            }
        }
        out.into_iter()
    }

    fn vars_of(&self, ty: Ty) -> Vec<Var> {
        self.vars().filter(|v| v.ty == ty).cloned().collect()
    }

    fn declare(&mut self, v: Var) {
        self.scopes.last_mut().expect("a scope").push(v);
    }

    /// A name for a new binding of type `ty`: usually fresh; with `shadow_top`, sometimes a
    /// name of the same type declared in this block; with `shadow_nested`, sometimes one
    /// declared in an enclosing block.
    fn binding_name(&mut self, ty: Ty, prefix: &str) -> String {
        let depth = self.scopes.len();
        if self.has("shadow_top") && self.rng.chance(1, 4) {
            let here: Vec<String> = self.scopes[depth - 1]
                .iter()
                .filter(|v| v.ty == ty && !v.guard)
                .map(|v| v.name.clone())
                .collect();
            if !here.is_empty() {
                return self.rng.pick(&here).clone();
            }
        }
        if self.has("shadow_nested") && depth > 1 && self.rng.chance(1, 2) {
            let outer: Vec<String> = self.scopes[..depth - 1]
                .iter()
                .flatten()
                .filter(|v| v.ty == ty && !v.guard)
                .map(|v| v.name.clone())
                .collect();
            if !outer.is_empty() {
                return self.rng.pick(&outer).clone();
            }
        }
        self.fresh(prefix)
    }

    /// A pattern binding (`Some(v)`, `Ok(v)`, `for v in`): fresh, or with `shadow_nested` an
    /// outer name.
    fn pattern_name(&mut self, ty: Ty, prefix: &str) -> String {
        if self.has("shadow_nested") && self.rng.chance(1, 3) {
            let outer: Vec<String> = self
                .vars()
                .filter(|v| v.ty == ty && !v.guard)
                .map(|v| v.name.clone())
                .collect();
            if !outer.is_empty() {
                return self.rng.pick(&outer).clone();
            }
        }
        self.fresh(prefix)
    }

    // ---- expressions -------------------------------------------------------------------

    /// A `u64` atom: a variable, a literal, a list length or sum, an option with a default, an
    /// item.
    fn atom(&mut self) -> String {
        let mut choices: Vec<String> = Vec::new();
        let dflt = self.rng.range(0, 9);
        let infer = self.has("infer_lets");
        for v in self.vars().filter(|v| v.typed || infer) {
            match v.ty {
                Ty::U64 => {
                    choices.push(v.name.clone());
                    choices.push(v.name.clone());
                }
                Ty::List => {
                    choices.push(format!("({}.len() as u64)", v.name));
                    choices.push(format!("({}.iter().sum::<u64>() % 1000)", v.name));
                }
                Ty::Opt => choices.push(format!("{}.unwrap_or({dflt})", v.name)),
                Ty::Str => choices.push(format!("({}.len() as u64)", v.name)),
            }
        }
        for scope in &self.items {
            for it in scope {
                match it {
                    Item::Const(k) => choices.push(k.clone()),
                    Item::Fn(h) => choices.push(format!("{h}(x)")),
                }
            }
        }
        if choices.is_empty() || self.rng.chance(1, 5) {
            return self.rng.range(0, 30).to_string();
        }
        let mut a = self.rng.pick(&choices).clone();
        // A helper fn applied to a variable rather than `x`.
        if a.ends_with("(x)") && self.rng.chance(1, 2) {
            let inner = self.atom();
            a = format!("{}({inner})", &a[..a.len() - 3]);
        }
        a
    }

    /// A `u64` expression below 1000 or an atom.
    fn expr(&mut self) -> String {
        let d = if self.rng.chance(1, 4) { 2 } else { 1 };
        self.expr_d(d)
    }

    fn expr_d(&mut self, d: u32) -> String {
        if d == 0 || self.rng.chance(2, 5) {
            return self.atom();
        }
        // Literals in a compound get their type (`5u64`), so the compound can be a method
        // receiver (`(5u64 % 3).wrapping_add(..)`).
        let typed = |e: String| {
            if e.bytes().all(|c| c.is_ascii_digit()) {
                format!("{e}u64")
            } else {
                e
            }
        };
        let a = typed(self.expr_d(d - 1));
        let mut b = typed(self.expr_d(d - 1));
        if a == b {
            b = format!("{}u64", self.rng.range(1, 30));
        }
        match self.rng.range(0, 5) {
            0 => format!("({a}.wrapping_add({b}) % 1000)"),
            1 => format!("({a}.wrapping_mul({b}) % 1000)"),
            2 => format!("(({a} ^ {b}) % 1000)"),
            3 => format!("({a}.wrapping_sub({b}) % 1000)"),
            4 => format!("({a} % {})", self.rng.range(2, 13)),
            _ => format!("((if {a} > {b} {{ {a} }} else {{ {b} }}) % 1000)"),
        }
    }

    /// A condition.
    /// An atom other than `a`.
    fn other_atom(&mut self, a: &str) -> String {
        let b = self.atom();
        if b == a {
            self.rng.range(0, 30).to_string()
        } else {
            b
        }
    }

    fn cond(&mut self) -> String {
        let a = self.atom();
        let c = match self.rng.range(0, 5) {
            0 => format!("{a} % 2 == 0"),
            1 => {
                let b = self.other_atom(&a);
                format!("{a} > {b}")
            }
            2 => format!("{a} % 3 != {}", self.rng.range(0, 2)),
            3 => format!("{a} < {}", self.rng.range(5, 600)),
            4 => {
                let b = self.other_atom(&a);
                format!("({a} % 2 == 1 && {b} < 500)")
            }
            _ => {
                let b = self.other_atom(&a);
                format!("({a} == {b} || {a} % 5 == 0)")
            }
        };
        c
    }

    // ---- statements --------------------------------------------------------------------

    fn can_await(&self) -> bool {
        self.awaits > 0
    }

    fn spend_await(&mut self) {
        self.awaits = self.awaits.saturating_sub(1);
    }

    /// A nested block: `{`, statements, `}` handled by the caller; here the scope and its
    /// statements. `pre` are bindings of the block's pattern.
    fn body(&mut self, depth: usize, pre: Vec<Var>, n: usize) {
        self.scopes.push(pre);
        self.items.push(Vec::new());
        self.ind += 1;
        for _ in 0..n {
            self.stmt(depth);
        }
        self.ind -= 1;
        self.items.pop();
        self.scopes.pop();
    }

    /// A nested block whose value is a `u64`: statements then a value expression.
    fn value_body(&mut self, depth: usize, pre: Vec<Var>, n: usize) {
        self.scopes.push(pre);
        self.items.push(Vec::new());
        self.ind += 1;
        for _ in 0..n {
            self.stmt(depth);
        }
        let v = if self.has("value_await") && self.can_await() && self.rng.chance(1, 3) {
            self.spend_await();
            if self.has("try") && self.rng.chance(1, 3) {
                let e = self.expr();
                format!("check({e}).await?")
            } else {
                format!("{}.await", self.task_call())
            }
        } else {
            self.expr()
        };
        self.line(&v);
        self.ind -= 1;
        self.items.pop();
        self.scopes.pop();
    }

    fn nested_len(&mut self) -> usize {
        self.rng.range(1, 3) as usize
    }

    fn stmt(&mut self, depth: usize) {
        if self.stmts == 0 {
            return;
        }
        self.stmts -= 1;
        let nest = depth < MAX_DEPTH;
        let in_loop = !self.loops.is_empty();
        let loops_ok = nest && self.loops.len() < MAX_LOOP_NESTING;
        let aw = self.can_await();
        let mut kinds: Vec<(&str, u64)> = vec![("let_pure", 3)];
        let mut add = |k: &'static str, w: u64, ok: bool| {
            if ok {
                kinds.push((k, w));
            }
        };
        add("let_task", 8, aw);
        add("let_try", 3, aw && self.has("try"));
        add("let_chain", 2, aw && self.has("await_chain"));
        add("let_opt", 2, aw && self.has("option_vars"));
        add("let_list", 2, self.has("list_vars"));
        add("assign", 4, self.has("assign"));
        add("compound", 4, self.has("compound_assign"));
        add("if", 6, nest && self.has("if"));
        add("if_let", 4, nest && self.has("if_let"));
        add("match", 4, nest && self.has("match"));
        add("value", 3, nest && self.has("value_exprs"));
        add("loop", 3, loops_ok && self.has("loop"));
        add("loop_value", 2, loops_ok && self.has("loop_value"));
        add("while", 2, loops_ok && self.has("while"));
        add("while_let", 2, loops_ok && aw && self.has("while_let"));
        add("for", 3, loops_ok && self.has("for"));
        add("block", 2, nest && self.has("block"));
        add("exit", 3, in_loop && self.has("break_continue"));
        add("return", 1, self.has("return") && depth > 0);
        add("await_stmt", 2, aw && self.has("await_stmt"));
        add("join", 3, aw && self.has("join"));
        add("try_join", 2, aw && self.has("try_join"));
        add("join_all", 3, aw && self.has("join_all"));
        add("items", 2, self.has("items"));
        add("match_return_err", 3, aw && self.has("match_return_err"));
        add("deferred_init", 3, nest && self.has("deferred_init"));
        add("if_else_none", 2, nest && aw && self.has("if_else_none"));
        let total: u64 = kinds.iter().map(|k| k.1).sum();
        let mut r = self.rng.next() % total;
        let mut kind = kinds[0].0;
        for (k, w) in &kinds {
            if r < *w {
                kind = k;
                break;
            }
            r -= w;
        }
        match kind {
            "let_pure" => self.let_pure(),
            "let_task" => self.let_task(),
            "let_try" => self.let_try(),
            "let_chain" => self.let_chain(),
            "let_opt" => self.let_opt(),
            "let_list" => self.let_list(),
            "assign" => self.assign(false),
            "compound" => self.assign(true),
            "if" => self.if_(depth),
            "if_let" => self.if_let(depth),
            "match" => self.match_(depth),
            "value" => self.value(depth),
            "loop" => self.loop_(depth, false),
            "loop_value" => self.loop_(depth, true),
            "while" => self.while_(depth),
            "while_let" => self.while_let(depth),
            "for" => self.for_(depth),
            "block" => self.block(depth),
            "exit" => self.exit(depth),
            "return" => self.return_(),
            "join" => self.join(),
            "try_join" => self.try_join(),
            "join_all" => self.join_all(),
            "await_stmt" => self.await_stmt(),
            "items" => self.item_decl(),
            "match_return_err" => self.match_return_err(),
            "deferred_init" => self.deferred_init(depth),
            "if_else_none" => self.if_else_none(depth),
            _ => unreachable!("{kind}"),
        }
    }

    /// `let [mut] name[: ty]` and the variable, typed or not.
    fn let_head(&mut self, ty: Ty, prefix: &str, annotate: bool, typed_anyway: bool) -> (String, Var) {
        let name = self.binding_name(ty, prefix);
        let mutable = ty == Ty::U64 && self.rng.chance(1, 2);
        let ann = match ty {
            Ty::U64 => "u64",
            Ty::List => "Vec<u64>",
            Ty::Opt => "Option<u64>",
            Ty::Str => "String",
        };
        let head = format!(
            "let {}{name}{}",
            if mutable { "mut " } else { "" },
            if annotate { format!(": {ann}") } else { String::new() }
        );
        let var = Var {
            name,
            ty,
            mutable,
            guard: false,
            typed: annotate || typed_anyway,
        };
        (head, var)
    }

    /// Whether a `let` of a plain expression gets a type annotation.
    fn annotate_plain(&mut self) -> bool {
        !(self.has("infer_lets") && self.rng.chance(1, 2))
    }

    fn let_pure(&mut self) {
        let annotate = self.annotate_plain();
        let mut e = self.expr();
        if !annotate && e.bytes().all(|c| c.is_ascii_digit()) {
            // `let v = 5;` would leave `v` an ambiguous integer for `v.wrapping_add(..)`.
            e.push_str("u64");
        }
        let (head, var) = self.let_head(Ty::U64, "v", annotate, false);
        self.line(&format!("{head} = {e};"));
        self.declare(var);
    }

    fn task_call(&mut self) -> String {
        let a = self.expr();
        let b = self.expr();
        let t = if self.rng.chance(1, 2) { "add" } else { "mul" };
        format!("{t}({a}, {b})")
    }

    fn let_task(&mut self) {
        self.spend_await();
        let call = self.task_call();
        let annotate = self.rng.chance(1, 3);
        let (head, var) = self.let_head(Ty::U64, "v", annotate, true);
        self.line(&format!("{head} = {call}.await;"));
        self.declare(var);
    }

    fn let_try(&mut self) {
        self.spend_await();
        let e = self.expr();
        let annotate = self.rng.chance(1, 3);
        let (head, var) = self.let_head(Ty::U64, "v", annotate, true);
        self.line(&format!("{head} = check({e}).await?;"));
        self.declare(var);
    }

    fn let_chain(&mut self) {
        self.spend_await();
        let annotate = true;
        let rhs = if self.rng.chance(1, 2) {
            let call = self.task_call();
            format!("{call}.await.wrapping_mul({}).rem_euclid(1000)", self.rng.range(2, 9))
        } else {
            let e = self.expr();
            format!("check({e}).await.unwrap_or({})", self.rng.range(0, 9))
        };
        let (head, var) = self.let_head(Ty::U64, "v", annotate, true);
        self.line(&format!("{head} = {rhs};"));
        self.declare(var);
    }

    fn let_opt(&mut self) {
        self.spend_await();
        let e = self.expr();
        let annotate = self.rng.chance(1, 3);
        let (head, var) = self.let_head(Ty::Opt, "o", annotate, true);
        self.line(&format!("{head} = maybe({e}).await;"));
        self.declare(var);
    }

    fn let_list(&mut self) {
        if self.can_await() && self.has("try") && self.rng.chance(1, 4) {
            self.spend_await();
            let e = self.expr();
            let annotate = self.rng.chance(1, 3);
            let (head, var) = self.let_head(Ty::List, "l", annotate, true);
            self.line(&format!("{head} = split({e}).await?;"));
            self.declare(var);
        } else if self.can_await() && self.rng.chance(1, 2) {
            self.spend_await();
            let e = self.expr();
            let annotate = self.rng.chance(1, 3);
            let (head, var) = self.let_head(Ty::List, "l", annotate, true);
            self.line(&format!("{head} = items({e}).await;"));
            self.declare(var);
        } else {
            let n = self.rng.range(0, 3);
            let elems: Vec<String> = (0..n).map(|_| self.expr()).collect();
            let (head, var) = self.let_head(Ty::List, "l", true, true);
            self.line(&format!("{head} = vec![{}];", elems.join(", ")));
            self.declare(var);
        }
    }

    /// `v = ..;` or `v += ..;` to a mutable variable in scope.
    fn assign(&mut self, compound: bool) {
        let targets: Vec<String> = self
            .vars()
            .filter(|v| v.ty == Ty::U64 && v.mutable && !v.guard)
            .map(|v| v.name.clone())
            .collect();
        if targets.is_empty() {
            return self.let_pure();
        }
        let t = self.rng.pick(&targets).clone();
        let op = match (compound, self.rng.chance(1, 4)) {
            (false, _) => "=",
            (true, false) => "+=",
            (true, true) => "^=",
        };
        let rhs = match self.rng.range(0, 3) {
            0 | 1 if self.can_await() => {
                self.spend_await();
                if self.has("try") && self.rng.chance(1, 3) {
                    let e = self.expr();
                    format!("check({e}).await?")
                } else {
                    format!("{}.await", self.task_call())
                }
            }
            _ => self.expr(),
        };
        self.line(&format!("{t} {op} {rhs};"));
    }

    /// A condition whose head is an await (`check(..).await.is_ok()`), if the dice say so.
    fn await_cond(&mut self) -> Option<String> {
        if !(self.has("await_heads") && self.can_await() && self.rng.chance(1, 4)) {
            return None;
        }
        self.spend_await();
        let e = self.expr();
        Some(match self.rng.range(0, 3) {
            0 => format!("check({e}).await.is_ok()"),
            1 => format!("maybe({e}).await.is_some()"),
            2 => format!("maybe({e}).await.is_some_and(|v| v % 2 == 0)"),
            _ => {
                let call = self.task_call();
                format!("{call}.await.gt(&{})", self.rng.range(100, 900))
            }
        })
    }

    fn if_(&mut self, depth: usize) {
        let c = match self.await_cond() {
            Some(c) => c,
            None => self.cond(),
        };
        self.line(&format!("if {c} {{"));
        let n = self.nested_len();
        self.body(depth + 1, Vec::new(), n);
        let elifs = self.rng.range(0, 2);
        for _ in 0..elifs {
            let c = self.cond();
            self.line(&format!("}} else if {c} {{"));
            let n = self.nested_len();
            self.body(depth + 1, Vec::new(), n);
        }
        if self.rng.chance(2, 3) {
            self.line("} else {");
            let n = self.nested_len();
            self.body(depth + 1, Vec::new(), n);
        }
        self.line("}");
    }

    fn u64_binding(&mut self, name: String) -> Var {
        Var {
            name,
            ty: Ty::U64,
            mutable: false,
            guard: false,
            typed: true,
        }
    }

    fn if_let(&mut self, depth: usize) {
        let opts = self.vars_of(Ty::Opt);
        let (pat, scrut) = match self.rng.range(0, 2) {
            0 if self.can_await() => {
                self.spend_await();
                let e = self.expr();
                ("Some", format!("maybe({e}).await"))
            }
            1 if self.can_await() && self.has("try") => {
                self.spend_await();
                let e = self.expr();
                ("Ok", format!("check({e}).await"))
            }
            _ if !opts.is_empty() => ("Some", self.rng.pick(&opts).name.clone()),
            _ => {
                // Nothing to match on without an await: a plain `if`.
                return self.if_(depth);
            }
        };
        let v = self.pattern_name(Ty::U64, "s");
        self.line(&format!("if let {pat}({v}) = {scrut} {{"));
        let n = self.nested_len();
        let b = self.u64_binding(v);
        self.body(depth + 1, vec![b], n);
        if self.rng.chance(2, 3) {
            self.line("} else {");
            let n = self.nested_len();
            self.body(depth + 1, Vec::new(), n);
        }
        self.line("}");
    }

    /// Arms of a `match` on `check(..).await` / `maybe(..).await` / an option / a value.
    /// Each arm is `(pattern, bindings)`; the last arm is exhaustive.
    fn match_arms(&mut self) -> (String, Vec<(String, Vec<Var>)>) {
        let opts = self.vars_of(Ty::Opt);
        let which = self.rng.range(0, 3);
        let mut arms = Vec::new();
        let scrut;
        if which == 0 && self.can_await() && self.has("list_vars") && self.rng.chance(1, 3) {
            // A non-`Copy` binding: `Ok(l)` of a `Result<Vec<u64>, String>`.
            self.spend_await();
            let e = self.expr();
            scrut = format!("split({e}).await");
            let l = self.pattern_name(Ty::List, "k");
            let b = Var {
                name: l.clone(),
                ty: Ty::List,
                mutable: false,
                guard: false,
                typed: true,
            };
            if self.rng.chance(1, 2) {
                let l2 = self.pattern_name(Ty::List, "k");
                let b2 = Var {
                    name: l2.clone(),
                    ..b.clone()
                };
                arms.push((format!("Ok({l2}) if {l2}.len() > 1"), vec![b2]));
            }
            arms.push((format!("Ok({l})"), vec![b]));
            let e = self.pattern_name(Ty::Str, "e");
            let b = Var {
                name: e.clone(),
                ty: Ty::Str,
                mutable: false,
                guard: false,
                typed: true,
            };
            arms.push((format!("Err({e})"), vec![b]));
        } else if (which == 0 && self.can_await() && self.has("try"))
            || (which == 1 && self.can_await())
        {
            self.spend_await();
            let e = self.expr();
            let (ok, err, task) = if which == 0 {
                ("Ok", "Err", "check")
            } else {
                ("Some", "None", "maybe")
            };
            scrut = format!("{task}({e}).await");
            if self.rng.chance(1, 2) {
                let v = self.pattern_name(Ty::U64, "m");
                let b = self.u64_binding(v.clone());
                // The guard reads the binding and outer variables.
                let outer = self.atom();
                arms.push((
                    format!("{ok}({v}) if {v} % 2 == 0 || {v} > {outer}"),
                    vec![b],
                ));
            }
            let v = self.pattern_name(Ty::U64, "m");
            let b = self.u64_binding(v.clone());
            arms.push((format!("{ok}({v})"), vec![b]));
            if err == "Err" {
                let e = self.pattern_name(Ty::Str, "e");
                let b = Var {
                    name: e.clone(),
                    ty: Ty::Str,
                    mutable: false,
                    guard: false,
                    typed: true,
                };
                arms.push((format!("Err({e})"), vec![b]));
            } else {
                arms.push(("None".into(), Vec::new()));
            }
        } else if which == 2 && !opts.is_empty() {
            scrut = self.rng.pick(&opts).name.clone();
            let v = self.pattern_name(Ty::U64, "m");
            let b = self.u64_binding(v.clone());
            arms.push((format!("Some({v})"), vec![b]));
            arms.push(("None".into(), Vec::new()));
        } else {
            scrut = if self.has("await_heads") && self.can_await() && self.rng.chance(1, 3) {
                self.spend_await();
                let call = self.task_call();
                format!("{call}.await.rem_euclid(4)")
            } else {
                let e = self.atom();
                format!("{e} % 4")
            };
            arms.push(("0".into(), Vec::new()));
            if self.rng.chance(1, 2) {
                arms.push(("1 | 2".into(), Vec::new()));
            }
            // A binding on a plain value: the macro cannot name its type, so without
            // `infer_lets` it is read in the guard only (it still hides an outer name).
            let n = self.pattern_name(Ty::U64, "n");
            let bound = vec![Var {
                name: n.clone(),
                ty: Ty::U64,
                mutable: false,
                guard: false,
                typed: false,
            }];
            let outer = self.atom();
            arms.push((format!("{n} if {n} > {outer} % 4"), bound));
            arms.push(("_".into(), Vec::new()));
        }
        (scrut, arms)
    }

    fn match_(&mut self, depth: usize) {
        let (scrut, arms) = self.match_arms();
        self.line(&format!("match {scrut} {{"));
        self.ind += 1;
        for (pat, bound) in arms {
            self.line(&format!("{pat} => {{"));
            let n = self.nested_len();
            self.body(depth + 1, bound, n);
            self.line("}");
        }
        self.ind -= 1;
        self.line("}");
    }

    /// `let v: u64 = if/match/block { .. value };`
    fn value(&mut self, depth: usize) {
        let annotate = !(self.has("infer_lets") && self.rng.chance(1, 3));
        let (head, var) = self.let_head(Ty::U64, "w", annotate, false);
        match self.rng.range(0, 2) {
            0 => {
                let c = self.cond();
                self.line(&format!("{head} = if {c} {{"));
                let n = self.rng.range(0, 2) as usize;
                self.value_body(depth + 1, Vec::new(), n);
                self.line("} else {");
                let n = self.rng.range(0, 2) as usize;
                self.value_body(depth + 1, Vec::new(), n);
                self.line("};");
            }
            1 => {
                let (scrut, arms) = self.match_arms();
                self.line(&format!("{head} = match {scrut} {{"));
                self.ind += 1;
                for (pat, bound) in arms {
                    self.line(&format!("{pat} => {{"));
                    let n = self.rng.range(0, 2) as usize;
                    self.value_body(depth + 1, bound, n);
                    self.line("}");
                }
                self.ind -= 1;
                self.line("};");
            }
            _ => {
                self.line(&format!("{head} = {{"));
                let n = self.nested_len();
                self.value_body(depth + 1, Vec::new(), n);
                self.line("};");
            }
        }
        self.declare(var);
    }

    /// A label for a new loop, if labels are on and the dice say so.
    fn label(&mut self) -> Option<String> {
        (self.has("labels") && self.rng.chance(1, 2)).then(|| self.fresh("'l"))
    }

    fn guard(&mut self) -> (String, u64) {
        let g = self.fresh("g");
        self.line(&format!("let mut {g}: u64 = 0;"));
        self.declare(Var {
            name: g.clone(),
            ty: Ty::U64,
            mutable: true,
            guard: true,
            typed: true,
        });
        (g, self.rng.range(1, 3))
    }

    fn loop_body(&mut self, depth: usize, lp: Loop, pre: Vec<Var>, first: Vec<String>) {
        self.loop_body_with(depth, lp, pre, first, false);
    }

    /// A loop body; `force_await`: its first statement awaits (whatever the budget says).
    fn loop_body_with(
        &mut self,
        depth: usize,
        lp: Loop,
        pre: Vec<Var>,
        first: Vec<String>,
        force_await: bool,
    ) {
        self.loops.push(lp);
        self.scopes.push(pre);
        self.items.push(Vec::new());
        self.ind += 1;
        for l in first {
            self.line(&l);
        }
        if force_await {
            self.awaits += 1;
            self.let_task();
        }
        let n = self.rng.range(1, 3);
        for _ in 0..n {
            self.stmt(depth + 1);
        }
        self.ind -= 1;
        self.items.pop();
        self.scopes.pop();
        self.loops.pop();
    }

    fn loop_(&mut self, depth: usize, value: bool) {
        let (g, k) = self.guard();
        let label = self.label();
        let lab = label.as_ref().map(|l| format!("{l}: ")).unwrap_or_default();
        let lp = Loop { label, value };
        let var = if value {
            let annotate = !(self.has("infer_lets") && self.rng.chance(1, 3));
            let (head, var) = self.let_head(Ty::U64, "w", annotate, false);
            self.line(&format!("{head} = {lab}loop {{"));
            Some(var)
        } else {
            self.line(&format!("{lab}loop {{"));
            None
        };
        let stop = if value {
            // The guard's break value is read in the scope of the loop body.
            self.scopes.push(Vec::new());
            let e = self.expr();
            self.scopes.pop();
            format!("break {e};")
        } else {
            "break;".to_string()
        };
        let first = vec![format!("{g} += 1;"), format!("if {g} > {k} {{ {stop} }}")];
        self.loop_body(depth, lp, Vec::new(), first);
        if let Some(var) = var {
            self.line("};");
            self.declare(var);
        } else {
            self.line("}");
        }
    }

    fn while_(&mut self, depth: usize) {
        let (g, k) = self.guard();
        let label = self.label();
        let lab = label.as_ref().map(|l| format!("{l}: ")).unwrap_or_default();
        let lp = Loop {
            label,
            value: false,
        };
        if self.has("await_heads") && self.can_await() && self.rng.chance(1, 3) {
            self.spend_await();
            let e = self.expr();
            self.line(&format!(
                "{lab}while maybe({g}.wrapping_add({e}) % 1000).await.is_some() {{"
            ));
            let first = vec![format!("{g} += 1;"), format!("if {g} > {k} {{ break; }}")];
            self.loop_body(depth, lp, Vec::new(), first);
        } else {
            let c = self.cond();
            self.line(&format!("{lab}while {g} < {k} && {c} {{"));
            self.loop_body(depth, lp, Vec::new(), vec![format!("{g} += 1;")]);
        }
        self.line("}");
    }

    fn while_let(&mut self, depth: usize) {
        self.spend_await();
        let (g, k) = self.guard();
        let label = self.label();
        let lab = label.as_ref().map(|l| format!("{l}: ")).unwrap_or_default();
        let e = self.expr();
        let v = self.pattern_name(Ty::U64, "s");
        self.line(&format!(
            "{lab}while let Some({v}) = maybe({g}.wrapping_add({e}) % 1000).await {{"
        ));
        let lp = Loop {
            label,
            value: false,
        };
        let b = self.u64_binding(v);
        let first = vec![format!("{g} += 1;"), format!("if {g} > {k} {{ break; }}")];
        self.loop_body(depth, lp, vec![b], first);
        self.line("}");
    }

    fn for_(&mut self, depth: usize) {
        let lists = self.vars_of(Ty::List);
        let mut over_task = false;
        let iter = if self.has("for_task") && self.can_await() && self.rng.chance(1, 2) {
            self.spend_await();
            over_task = true;
            let e = self.expr();
            format!("items({e}).await")
        } else if !lists.is_empty() && self.rng.chance(3, 4) {
            format!("{}.clone()", self.rng.pick(&lists).name)
        } else {
            let n = self.rng.range(1, 3);
            let elems: Vec<String> = (0..n).map(|_| self.expr()).collect();
            // Typed through its annotation; moved into the loop (so not declared).
            let l = self.fresh("l");
            self.line(&format!("let {l}: Vec<u64> = vec![{}];", elems.join(", ")));
            l
        };
        let label = self.label();
        let lab = label.as_ref().map(|l| format!("{l}: ")).unwrap_or_default();
        let i = self.pattern_name(Ty::U64, "i");
        self.line(&format!("{lab}for {i} in {iter} {{"));
        let lp = Loop {
            label,
            value: false,
        };
        let b = self.u64_binding(i);
        // The macro refuses `for i in items(..).await` whose body does not await.
        let force = over_task && !self.has("for_task_plain_body");
        self.loop_body_with(depth, lp, vec![b], Vec::new(), force);
        self.line("}");
    }

    fn block(&mut self, depth: usize) {
        self.line("{");
        let n = self.nested_len();
        self.body(depth + 1, Vec::new(), n);
        self.line("}");
    }

    /// `if c { break / continue; }` to the innermost loop or a labeled outer one.
    fn exit(&mut self, _depth: usize) {
        let c = self.cond();
        let inner = self.loops.len() - 1;
        let labeled: Vec<usize> = (0..self.loops.len())
            .filter(|i| self.loops[*i].label.is_some())
            .collect();
        let target = if !labeled.is_empty() && self.rng.chance(1, 2) {
            *self.rng.pick(&labeled)
        } else {
            inner
        };
        let lp = self.loops[target].clone();
        let lab = match (&lp.label, target == inner) {
            (Some(l), false) => format!(" {l}"),
            (Some(l), true) if self.rng.chance(1, 2) => format!(" {l}"),
            (None, false) => unreachable!("only labeled outer loops are targets"),
            _ => String::new(),
        };
        let what = if self.rng.chance(1, 2) {
            format!("continue{lab};")
        } else if lp.value {
            let e = self.expr();
            format!("break{lab} {e};")
        } else {
            format!("break{lab};")
        };
        self.line(&format!("if {c} {{"));
        self.ind += 1;
        self.scopes.push(Vec::new());
        // Sometimes an await right before leaving (before `break` only with
        // `await_then_exit`: the macro refuses an await followed by `break`/`return`).
        let leaves = !what.starts_with("continue");
        if self.can_await() && self.rng.chance(1, 3) && (!leaves || self.has("await_then_exit")) {
            let compound = self.rng.chance(1, 2);
            self.assign(compound);
        }
        self.scopes.pop();
        self.line(&what);
        self.ind -= 1;
        self.line("}");
    }

    fn return_(&mut self) {
        if self.has("await_then_exit") && self.can_await() && self.rng.chance(1, 3) {
            let c = self.cond();
            self.line(&format!("if {c} {{"));
            self.ind += 1;
            self.scopes.push(Vec::new());
            self.let_task();
            let e = self.expr();
            self.line(&format!("return Ok({e});"));
            self.scopes.pop();
            self.ind -= 1;
            self.line("}");
            return;
        }
        // In a loop, `return check(..).await` is an await followed by an exit.
        let in_loop = !self.loops.is_empty();
        if self.has("return_await")
            && (!in_loop || self.has("await_then_exit"))
            && self.can_await()
            && self.rng.chance(1, 3)
        {
            self.spend_await();
            let c = self.cond();
            let e = self.expr();
            self.line(&format!("if {c} {{ return check({e}).await; }}"));
            return;
        }
        let c = self.cond();
        let e = self.expr();
        let what = if self.rng.chance(2, 3) {
            format!("return Ok({e});")
        } else {
            format!("return Err(format!(\"r{{}}\", {e}));")
        };
        self.line(&format!("if {c} {{ {what} }}"));
    }

    fn await_stmt(&mut self) {
        self.spend_await();
        if self.has("try") && self.rng.chance(1, 2) {
            let e = self.expr();
            self.line(&format!("check({e}).await?;"));
        } else {
            let call = self.task_call();
            self.line(&format!("{call}.await;"));
        }
    }

    fn join(&mut self) {
        self.spend_await();
        let n = self.rng.range(2, 3);
        let calls: Vec<String> = (0..n).map(|_| self.task_call()).collect();
        let names: Vec<String> = (0..n).map(|_| self.binding_name(Ty::U64, "j")).collect();
        if dedup_len(&names) != names.len() {
            // A pattern cannot bind one name twice.
            let names: Vec<String> = (0..n).map(|_| self.fresh("j")).collect();
            return self.emit_join(&names, &calls, "join!", "");
        }
        self.emit_join(&names, &calls, "join!", "");
    }

    fn emit_join(&mut self, names: &[String], calls: &[String], mac: &str, q: &str) {
        self.line(&format!(
            "let ({}) = sayiir::{mac}({}).await{q};",
            names.join(", "),
            calls.join(", ")
        ));
        for n in names {
            let v = self.u64_binding(n.clone());
            self.declare(v);
        }
    }

    fn try_join(&mut self) {
        self.spend_await();
        let n = self.rng.range(2, 3);
        let calls: Vec<String> = (0..n)
            .map(|_| {
                let e = self.expr();
                format!("check({e})")
            })
            .collect();
        let names: Vec<String> = (0..n).map(|_| self.fresh("j")).collect();
        self.emit_join(&names, &calls, "try_join!", "?");
    }

    fn join_all(&mut self) {
        self.spend_await();
        let lists = self.vars_of(Ty::List);
        let src = if lists.is_empty() {
            let n = self.rng.range(0, 3);
            let elems: Vec<String> = (0..n).map(|_| self.expr()).collect();
            let l = self.fresh("l");
            self.line(&format!("let {l}: Vec<u64> = vec![{}];", elems.join(", ")));
            self.declare(Var {
                name: l.clone(),
                ty: Ty::List,
                mutable: false,
                guard: false,
                typed: true,
            });
            l
        } else {
            self.rng.pick(&lists).name.clone()
        };
        let i = self.fresh("i");
        // The closure reads an outer value too.
        let e = self.atom();
        let (call, q, f) = match self.rng.range(0, 2) {
            0 => (format!("add(*{i}, {e})"), "", "join_all"),
            1 => (format!("mul(*{i}, {e})"), "", "join_all"),
            _ => (format!("check(*{i})"), "?", "try_join_all"),
        };
        let (call, q, f) = if f == "try_join_all" && !self.has("try") {
            (format!("add(*{i}, {e})"), "", "join_all")
        } else {
            (call, q, f)
        };
        let annotate = self.rng.chance(1, 3);
        let (head, var) = self.let_head(Ty::List, "l", annotate, true);
        self.line(&format!(
            "{head} = sayiir::{f}({src}.iter().map(|{i}| {call})).await{q};"
        ));
        self.declare(var);
    }

    fn item_decl(&mut self) {
        if self.rng.chance(1, 2) {
            let k = self.fresh("K");
            let v = self.rng.range(1, 50);
            self.line(&format!("const {k}: u64 = {v};"));
            self.items.last_mut().expect("items scope").push(Item::Const(k));
        } else {
            let h = self.fresh("h");
            let (m, a) = (self.rng.range(2, 9), self.rng.range(0, 20));
            self.line(&format!(
                "fn {h}(a: u64) -> u64 {{ a.wrapping_mul({m}).wrapping_add({a}) % 1000 }}"
            ));
            self.items.last_mut().expect("items scope").push(Item::Fn(h));
        }
    }

    fn match_return_err(&mut self) {
        self.spend_await();
        let e = self.expr();
        let annotate = self.rng.chance(1, 2);
        let (ty, task) = if self.has("list_vars") && self.rng.chance(1, 3) {
            (Ty::List, "split")
        } else {
            (Ty::U64, "check")
        };
        let (head, var) = self.let_head(ty, if ty == Ty::List { "l" } else { "v" }, annotate, true);
        let o = self.fresh("o");
        let er = self.fresh("e");
        self.line(&format!(
            "{head} = match {task}({e}).await {{ Ok({o}) => {o}, Err({er}) => return Err({er}) }};"
        ));
        self.declare(var);
    }

    fn deferred_init(&mut self, depth: usize) {
        let name = self.fresh("d");
        self.line(&format!("let {name}: u64;"));
        let c = self.cond();
        self.line(&format!("if {c} {{"));
        for side in 0..2 {
            let n = self.rng.range(0, 2) as usize;
            self.scopes.push(Vec::new());
            self.items.push(Vec::new());
            self.ind += 1;
            for _ in 0..n {
                self.stmt(depth + 1);
            }
            let rhs = if self.can_await() && self.rng.chance(2, 3) {
                self.spend_await();
                format!("{}.await", self.task_call())
            } else {
                self.expr()
            };
            self.line(&format!("{name} = {rhs};"));
            self.ind -= 1;
            self.items.pop();
            self.scopes.pop();
            if side == 0 {
                self.line("} else {");
            }
        }
        self.line("}");
        let v = self.u64_binding(name);
        self.declare(v);
    }

    fn if_else_none(&mut self, depth: usize) {
        self.spend_await();
        let annotate = !(self.has("infer_lets") && self.rng.chance(2, 3));
        let (head, var) = self.let_head(Ty::Opt, "o", annotate, false);
        let c = self.cond();
        let e = self.expr();
        let _ = depth;
        self.line(&format!(
            "{head} = if {c} {{ maybe({e}).await }} else {{ None }};"
        ));
        self.declare(var);
    }

    /// The final value: every variable in scope folded into one `u64`.
    fn combine_all(&mut self) -> String {
        let mut acc = String::from("0u64");
        let vars: Vec<Var> = self.vars().cloned().collect();
        for v in vars.iter().rev() {
            let term = match v.ty {
                Ty::U64 => v.name.clone(),
                Ty::List => format!(
                    "{}.iter().fold(7u64, |a, b| a.wrapping_mul(31).wrapping_add(*b))",
                    v.name
                ),
                Ty::Opt => format!("{}.map_or(5, |v| v.wrapping_add(11))", v.name),
                Ty::Str => format!("({}.len() as u64)", v.name),
            };
            acc = format!("{acc}.wrapping_mul(1_000_003).wrapping_add({term})");
        }
        acc
    }
}

fn dedup_len(names: &[String]) -> usize {
    names.iter().collect::<BTreeSet<_>>().len()
}

/// Bodies from a file written by hand: separated by lines that start with `// ---`.
pub(crate) fn parse_bodies(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for line in text.lines() {
        if line.trim_start().starts_with("// ---") {
            if !cur.trim().is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            cur.clear();
        } else {
            let _ = writeln!(cur, "    {line}");
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur);
    }
    out
}
