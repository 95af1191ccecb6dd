// A child workflow shares its parent's context: it is not passed to the call.
use sayiir::WorkflowContext;

#[sayiir::workflow]
async fn child(ctx: &mut WorkflowContext, n: u64) -> u64 {
    let _ = ctx.set("child", &n);
    n
}

#[sayiir::workflow]
async fn parent(ctx: &mut WorkflowContext, n: u64) -> u64 {
    child(ctx, n).await
}

fn main() {}
