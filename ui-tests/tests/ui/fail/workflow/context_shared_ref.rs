// The shared context is lent mutably.
#[sayiir::workflow]
async fn flow(ctx: &sayiir::WorkflowContext, n: u64) -> u64 {
    let _ = ctx.get::<u64>("n");
    n
}

fn main() {}
