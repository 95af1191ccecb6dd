//! The generator's loops, exits, joins, items, deferred initialization and the final value
//! (split from `gen.rs`, whose `Gen` they extend).

use super::*;

impl Gen<'_> {
    /// A label for a new loop, if labels are on and the dice say so.
    pub(super) fn label(&mut self) -> Option<String> {
        (self.has("labels") && self.rng.chance(1, 2)).then(|| self.fresh("'l"))
    }

    pub(super) fn guard(&mut self) -> (String, u64) {
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

    pub(super) fn loop_body(&mut self, depth: usize, lp: Loop, pre: Vec<Var>, first: Vec<String>) {
        self.loop_body_with(depth, lp, pre, first, false);
    }

    /// A loop body; `force_await`: its first statement awaits (whatever the budget says).
    pub(super) fn loop_body_with(
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

    pub(super) fn loop_(&mut self, depth: usize, value: bool) {
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

    pub(super) fn while_(&mut self, depth: usize) {
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

    pub(super) fn while_let(&mut self, depth: usize) {
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

    pub(super) fn for_(&mut self, depth: usize) {
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

    pub(super) fn block(&mut self, depth: usize) {
        self.line("{");
        let n = self.nested_len();
        self.body(depth + 1, Vec::new(), n);
        self.line("}");
    }

    /// `if c { break / continue; }` to the innermost loop or a labeled outer one.
    pub(super) fn exit(&mut self, _depth: usize) {
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

    pub(super) fn return_(&mut self) {
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

    pub(super) fn await_stmt(&mut self) {
        self.spend_await();
        if self.has("try") && self.rng.chance(1, 2) {
            let e = self.expr();
            self.line(&format!("check({e}).await?;"));
        } else {
            let call = self.task_call();
            self.line(&format!("{call}.await;"));
        }
    }

    pub(super) fn join(&mut self) {
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

    pub(super) fn emit_join(&mut self, names: &[String], calls: &[String], mac: &str, q: &str) {
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

    pub(super) fn try_join(&mut self) {
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

    pub(super) fn join_all(&mut self) {
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

    pub(super) fn item_decl(&mut self) {
        if self.rng.chance(1, 2) {
            let k = self.fresh("K");
            let v = self.rng.range(1, 50);
            self.line(&format!("const {k}: u64 = {v};"));
            self.items
                .last_mut()
                .expect("items scope")
                .push(Item::Const(k));
        } else {
            let h = self.fresh("h");
            let (m, a) = (self.rng.range(2, 9), self.rng.range(0, 20));
            self.line(&format!(
                "fn {h}(a: u64) -> u64 {{ a.wrapping_mul({m}).wrapping_add({a}) % 1000 }}"
            ));
            self.items
                .last_mut()
                .expect("items scope")
                .push(Item::Fn(h));
        }
    }

    pub(super) fn match_return_err(&mut self) {
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

    pub(super) fn deferred_init(&mut self, depth: usize) {
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

    pub(super) fn if_else_none(&mut self, depth: usize) {
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
    pub(super) fn combine_all(&mut self) -> String {
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
