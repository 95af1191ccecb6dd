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

#[path = "gen_loops.rs"]
mod loops;
#[path = "gen_stmts.rs"]
mod stmts;

use std::collections::BTreeSet;
use std::fmt::Write as _;

/// A feature of the grammar: its name, whether it is on by default, and what it covers (for a
/// feature that is off by default: why).
pub(crate) struct Feature {
    pub(crate) name: &'static str,
    pub(crate) default: bool,
    pub(crate) about: &'static str,
}

/// Every feature; all are on by default (each was off while the macro refused or miscompiled
/// it, see difftest/README.md).
pub(crate) const FEATURES: &[Feature] = &[
    Feature {
        name: "if",
        default: true,
        about: "`if` / `else if` / `else` around awaits",
    },
    Feature {
        name: "if_let",
        default: true,
        about: "`if let Some(v) = maybe(..).await` / `if let Ok(v) = check(..).await` / `if let Some(v) = o`",
    },
    Feature {
        name: "match",
        default: true,
        about: "`match` on a task result or a value, with guards, bindings, `|` patterns",
    },
    Feature {
        name: "loop",
        default: true,
        about: "`loop` with a guard counter and conditional `break`",
    },
    Feature {
        name: "loop_value",
        default: true,
        about: "`let v: u64 = loop { .. break value; .. };`",
    },
    Feature {
        name: "while",
        default: true,
        about: "`while gN < K && cond { .. }`",
    },
    Feature {
        name: "while_let",
        default: true,
        about: "`while let Some(v) = maybe(..).await { .. }`",
    },
    Feature {
        name: "for",
        default: true,
        about: "`for i in list.clone() { .. }` over a `Vec<u64>` variable",
    },
    Feature {
        name: "for_task",
        default: true,
        about: "`for i in items(..).await { .. }` (its body starts with an await unless `for_task_plain_body`)",
    },
    Feature {
        name: "for_task_plain_body",
        default: true,
        about: "`for i in items(..).await { .. }` whose body may have no await",
    },
    Feature {
        name: "labels",
        default: true,
        about: "labeled loops, `break 'l` / `continue 'l` from inner loops, across awaits",
    },
    Feature {
        name: "break_continue",
        default: true,
        about: "`if c { break; }` / `if c { continue; }` inside loops",
    },
    Feature {
        name: "await_then_exit",
        default: true,
        about: "an await followed by `break` / `return` in the same block inside a loop (`if c { v = add(..).await; break; }`, `return check(..).await;`)",
    },
    Feature {
        name: "block",
        default: true,
        about: "nested plain `{ .. }` blocks around awaits",
    },
    Feature {
        name: "return",
        default: true,
        about: "early `return Ok(..)` / `return Err(..)` inside branches and loops",
    },
    Feature {
        name: "try",
        default: true,
        about: "`?` on `check(..).await`",
    },
    Feature {
        name: "join",
        default: true,
        about: "`let (a, b) = sayiir::join!(add(..), mul(..)).await;`",
    },
    Feature {
        name: "try_join",
        default: true,
        about: "`let (a, b) = sayiir::try_join!(check(..), check(..)).await?;`",
    },
    Feature {
        name: "join_all",
        default: true,
        about: "`sayiir::join_all(l.iter().map(|i| add(*i, e))).await` and `try_join_all(..).await?`",
    },
    Feature {
        name: "assign",
        default: true,
        about: "`v = e;` / `v = add(..).await;` to outer `let mut` variables, from any depth",
    },
    Feature {
        name: "compound_assign",
        default: true,
        about: "`v += e;` / `v += mul(..).await;` / `v += check(..).await?;`",
    },
    Feature {
        name: "value_exprs",
        default: true,
        about: "`let v: u64 = if .. { add(..).await } else { .. };`, value `match` and value blocks",
    },
    Feature {
        name: "await_chain",
        default: true,
        about: "`let v: u64 = add(..).await.wrapping_mul(3).rem_euclid(1000);`, `check(..).await.unwrap_or(5)`",
    },
    Feature {
        name: "await_heads",
        default: true,
        about: "awaits at the head of conditions and scrutinees: `if check(..).await.is_ok()`, `while maybe(..).await.is_some()`, `match add(..).await.rem_euclid(4)`",
    },
    Feature {
        name: "value_await",
        default: true,
        about: "a value `if`/`match`/block whose value is an await: `if c { add(..).await } else { .. }`, `.. => check(..).await?`",
    },
    Feature {
        name: "await_stmt",
        default: true,
        about: "awaits as statements: `add(..).await;`, `check(..).await?;`",
    },
    Feature {
        name: "return_await",
        default: true,
        about: "`if c { return check(..).await; }` (outside loops unless `await_then_exit`)",
    },
    Feature {
        name: "tail_await",
        default: true,
        about: "the body ends with `check(..).await` instead of `Ok(..)`",
    },
    Feature {
        name: "option_vars",
        default: true,
        about: "`let o = maybe(..).await;` variables, read later with `unwrap_or` / `if let`",
    },
    Feature {
        name: "list_vars",
        default: true,
        about: "`let l = items(..).await;` and `let l: Vec<u64> = vec![..];` variables",
    },
    Feature {
        name: "shadow_top",
        default: true,
        about: "re-binding a name in the same block it was declared in (`let x = add(x, 1).await;`)",
    },
    Feature {
        name: "shadow_nested",
        default: true,
        about: "a `let` (or a pattern binding) in a branch / block / loop body shadowing an outer name that is read after the construct",
    },
    Feature {
        name: "items",
        default: true,
        about: "`const K: u64 = ..;` / `fn h(a: u64) -> u64 { .. }` declared in the body and used after an await",
    },
    Feature {
        name: "match_return_err",
        default: true,
        about: "`let v = match check(..).await { Ok(o) => o, Err(e) => return Err(e) };` (also on `split`, a `Result<Vec<u64>, String>`)",
    },
    Feature {
        name: "deferred_init",
        default: true,
        about: "`let v: u64; if c { v = add(..).await; } else { v = e; }`",
    },
    Feature {
        name: "if_else_none",
        default: true,
        about: "`let o: Option<u64> = if c { maybe(..).await } else { None };` (un-annotated with `infer_lets`)",
    },
    Feature {
        name: "infer_lets",
        default: true,
        about: "carried variables without a type annotation (`let v = e;`, value `if`s, arm bindings on plain values)",
    },
];

/// The set of features turned on.
#[derive(Clone, Debug)]
pub(crate) struct Features(BTreeSet<&'static str>);

impl Features {
    /// The default set.
    pub(crate) fn defaults() -> Self {
        Features(
            FEATURES
                .iter()
                .filter(|f| f.default)
                .map(|f| f.name)
                .collect(),
        )
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
                    // Un-annotated lets (`infer_lets`) need a type the macro can see: a plain
                    // fn's result is not one (it reads tokens, not signatures), a cast is.
                    Item::Fn(h) if infer => choices.push(format!("({h}(x) as u64)")),
                    Item::Fn(h) => choices.push(format!("{h}(x)")),
                }
            }
        }
        if choices.is_empty() || self.rng.chance(1, 5) {
            return self.literal();
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

    /// A number literal; with `infer_lets`, suffixed (`7u64`), since a bare `7` kept across an
    /// await takes its type from code the macro cannot see (it asks for an annotation).
    fn literal(&mut self) -> String {
        let n = self.rng.range(0, 30);
        if self.has("infer_lets") {
            format!("{n}u64")
        } else {
            n.to_string()
        }
    }

    /// An atom other than `a`.
    fn other_atom(&mut self, a: &str) -> String {
        let b = self.atom();
        if b == a { self.literal() } else { b }
    }

    fn cond(&mut self) -> String {
        let a = self.atom();
        match self.rng.range(0, 5) {
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
        }
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
