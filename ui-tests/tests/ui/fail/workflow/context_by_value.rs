// The shared context is lent, not passed by value.
use sayiir::WorkflowContext;

#[sayiir::workflow]
async fn flow(ctx: WorkflowContext, n: u64) -> u64 {
    let _ = ctx.get::<u64>("n");
    n
}

fn main() {}
