// Private types in tasks and workflows of every visibility, kept across awaits, in a crate that
// denies warnings: the generated state holds them without widening their visibility (no
// `private_interfaces` warning).
#![deny(warnings)]

use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct First {
    n: u64,
}

#[sayiir::task]
async fn first() -> First {
    First { n: 1 }
}

#[sayiir::task]
async fn other() {}

#[sayiir::task]
async fn consume(f: First) -> u64 {
    f.n
}

/// A public workflow keeps the private task output across an await (inferred type).
#[sayiir::workflow]
pub async fn inferred() -> u64 {
    let x = first().await;
    other().await;
    consume(x).await
}

/// The same with the type written.
#[sayiir::workflow]
pub async fn annotated() -> u64 {
    let x: First = first().await;
    other().await;
    let n = consume(x).await;
    n + 1
}

/// `pub(crate)`, and a join of private outputs.
#[sayiir::workflow]
pub(crate) async fn crate_visible() -> u64 {
    let (a, b) = sayiir::join!(first(), first()).await;
    other().await;
    let x = consume(a).await;
    let y = consume(b).await;
    x + y
}

mod private {
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize)]
    struct Hidden(u64);

    #[sayiir::task]
    async fn make() -> Hidden {
        Hidden(2)
    }

    #[sayiir::task]
    async fn take(h: Hidden) -> u64 {
        h.0
    }

    #[sayiir::task]
    pub(crate) async fn tick() {}

    /// `pub` in a private module.
    #[sayiir::workflow]
    pub async fn in_private_module() -> u64 {
        let h = make().await;
        tick().await;
        take(h).await
    }

    /// `pub(crate)` with an input, loops and a signal.
    #[sayiir::workflow]
    pub(crate) async fn crate_in_module(n: u64) -> u64 {
        let mut total = n;
        let mut round: u64 = 0;
        while round < n {
            let h = make().await;
            tick().await;
            total += take(h).await;
            round += 1;
        }
        let h: Hidden = make().await;
        let _go: u64 = sayiir::signal::<u64>("go").await;
        let k = take(h).await;
        total + k
    }

    #[sayiir::task]
    async fn make_n(n: u64) -> Hidden {
        Hidden(n)
    }

    /// `pub`, with the shared context, `join_all` of private outputs kept across an await, a
    /// durable sleep and `continue_as_new`.
    #[sayiir::workflow]
    pub async fn rounds(ctx: &mut sayiir::WorkflowContext, round: u64) -> u64 {
        let _ = ctx.set("round", &round);
        let ns: Vec<u64> = vec![1, 2, round];
        let all = sayiir::join_all(ns.into_iter().map(|k| make_n(k))).await;
        sayiir::sleep(std::time::Duration::from_millis(1)).await;
        let mut total: u64 = 0;
        for h in all {
            total += take(h).await;
        }
        if round < 3 {
            return sayiir::continue_as_new(round + 1).await;
        }
        total
    }

    /// `pub(super)`, calling a task of the parent module.
    #[sayiir::workflow]
    pub(super) async fn parent_visible() -> u64 {
        let h = make().await;
        crate::other().await;
        take(h).await
    }
}

pub mod public {
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize)]
    struct Hidden(u64);

    /// Public.
    #[derive(Serialize, Deserialize)]
    pub struct Shown(pub u64);

    #[sayiir::task]
    async fn make() -> Hidden {
        Hidden(2)
    }

    #[sayiir::task]
    async fn take(h: Hidden) -> Shown {
        Shown(h.0)
    }

    /// A public task of public types.
    #[sayiir::task]
    pub async fn shown(s: Shown) -> Shown {
        s
    }

    /// A public workflow of public types whose state holds private ones.
    #[sayiir::workflow]
    pub async fn exported(s: Shown) -> Shown {
        let h = make().await;
        let s = shown(s).await;
        let t = take(h).await;
        let (a, b) = sayiir::join!(shown(s), shown(t)).await;
        Shown(a.0 + b.0)
    }

    /// A public workflow calling a private child workflow.
    #[sayiir::workflow]
    pub async fn parent(s: Shown) -> Shown {
        let h = make().await;
        let c = child().await;
        let t = take(h).await;
        Shown(c + t.0 + s.0)
    }

    #[sayiir::workflow]
    async fn child() -> u64 {
        let h = make().await;
        let s = take(h).await;
        s.0
    }
}

fn main() {
    let _ = (
        inferred,
        annotated,
        crate_visible,
        private::in_private_module,
        private::crate_in_module,
        private::parent_visible,
        private::rounds,
        public::exported,
        public::parent,
    );
}
