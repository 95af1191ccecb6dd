//! The generator's statements: lets, assignments, branches, matches, values (split from
//! `gen.rs`, whose `Gen` they extend).

use super::*;

impl Gen<'_> {
    // ---- statements --------------------------------------------------------------------

    pub(super) fn can_await(&self) -> bool {
        self.awaits > 0
    }

    pub(super) fn spend_await(&mut self) {
        self.awaits = self.awaits.saturating_sub(1);
    }

    /// A nested block: `{`, statements, `}` handled by the caller; here the scope and its
    /// statements. `pre` are bindings of the block's pattern.
    pub(super) fn body(&mut self, depth: usize, pre: Vec<Var>, n: usize) {
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
    pub(super) fn value_body(&mut self, depth: usize, pre: Vec<Var>, n: usize) {
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

    pub(super) fn nested_len(&mut self) -> usize {
        self.rng.range(1, 3) as usize
    }

    pub(super) fn stmt(&mut self, depth: usize) {
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
    pub(super) fn let_head(
        &mut self,
        ty: Ty,
        prefix: &str,
        annotate: bool,
        typed_anyway: bool,
    ) -> (String, Var) {
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
            if annotate {
                format!(": {ann}")
            } else {
                String::new()
            }
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
    pub(super) fn annotate_plain(&mut self) -> bool {
        !(self.has("infer_lets") && self.rng.chance(1, 2))
    }

    pub(super) fn let_pure(&mut self) {
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

    pub(super) fn task_call(&mut self) -> String {
        let a = self.expr();
        let b = self.expr();
        let t = if self.rng.chance(1, 2) { "add" } else { "mul" };
        format!("{t}({a}, {b})")
    }

    /// `let <name> = <rhs>;` of an awaited value of type `ty`, annotated or not.
    fn let_awaited(&mut self, ty: Ty, prefix: &str, annotate: bool, rhs: &str) {
        let (head, var) = self.let_head(ty, prefix, annotate, true);
        self.line(&format!("{head} = {rhs};"));
        self.declare(var);
    }

    pub(super) fn let_task(&mut self) {
        self.spend_await();
        let call = self.task_call();
        let annotate = self.rng.chance(1, 3);
        self.let_awaited(Ty::U64, "v", annotate, &format!("{call}.await"));
    }

    pub(super) fn let_try(&mut self) {
        self.spend_await();
        let e = self.expr();
        let annotate = self.rng.chance(1, 3);
        self.let_awaited(Ty::U64, "v", annotate, &format!("check({e}).await?"));
    }

    pub(super) fn let_chain(&mut self) {
        self.spend_await();
        let rhs = if self.rng.chance(1, 2) {
            let call = self.task_call();
            format!(
                "{call}.await.wrapping_mul({}).rem_euclid(1000)",
                self.rng.range(2, 9)
            )
        } else {
            let e = self.expr();
            format!("check({e}).await.unwrap_or({})", self.rng.range(0, 9))
        };
        self.let_awaited(Ty::U64, "v", true, &rhs);
    }

    pub(super) fn let_opt(&mut self) {
        self.spend_await();
        let e = self.expr();
        let annotate = self.rng.chance(1, 3);
        self.let_awaited(Ty::Opt, "o", annotate, &format!("maybe({e}).await"));
    }

    pub(super) fn let_list(&mut self) {
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
    pub(super) fn assign(&mut self, compound: bool) {
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
    pub(super) fn await_cond(&mut self) -> Option<String> {
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

    pub(super) fn if_(&mut self, depth: usize) {
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

    pub(super) fn u64_binding(&mut self, name: String) -> Var {
        Var {
            name,
            ty: Ty::U64,
            mutable: false,
            guard: false,
            typed: true,
        }
    }

    pub(super) fn if_let(&mut self, depth: usize) {
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
    pub(super) fn match_arms(&mut self) -> (String, Vec<(String, Vec<Var>)>) {
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

    pub(super) fn match_(&mut self, depth: usize) {
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
    pub(super) fn value(&mut self, depth: usize) {
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
}
