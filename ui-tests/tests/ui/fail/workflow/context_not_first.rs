// The shared context is the first parameter.
#[sayiir::workflow]
async fn flow(n: u64, ctx: &mut sayiir::WorkflowContext) -> u64 {
    let _ = ctx.set("n", &n);
    n
}

fn main() {}
