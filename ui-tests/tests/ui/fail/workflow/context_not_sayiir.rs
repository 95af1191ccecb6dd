// A first parameter written `&mut WorkflowContext` is the shared context: a type of that name
// that is not sayiir's is reported at the type, once.
#[derive(Default)]
struct WorkflowContext {
    seen: u64,
}

impl WorkflowContext {
    fn see(&mut self, n: u64) -> u64 {
        self.seen += n;
        self.seen
    }
}

#[sayiir::task]
async fn double(n: u64) -> u64 {
    n * 2
}

#[sayiir::workflow]
async fn flow(ctx: &mut WorkflowContext, n: u64) -> u64 {
    let d = double(n).await;
    ctx.see(d)
}

fn main() {}
