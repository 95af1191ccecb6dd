// An owned input whose type is named `Context` or `WorkflowContext` is an input like any other:
// only `&mut WorkflowContext` (sayiir's) as the first parameter is the shared context.
#![deny(warnings)]

use serde::{Deserialize, Serialize};

mod mine {
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
    pub struct WorkflowContext {
        pub tenant: String,
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
struct Context {
    region: String,
}

#[sayiir::task]
async fn label(ctx: Context, tenant: mine::WorkflowContext) -> String {
    format!("{}/{}", ctx.region, tenant.tenant)
}

#[sayiir::workflow]
async fn plain(ctx: Context, tenant: mine::WorkflowContext) -> String {
    label(ctx, tenant).await
}

// Both: sayiir's context first, then the user's types as inputs.
#[sayiir::workflow]
async fn both(
    shared: &mut sayiir::WorkflowContext,
    ctx: Context,
    tenant: mine::WorkflowContext,
) -> String {
    let l = label(ctx, tenant).await;
    shared.set("label", &l).unwrap();
    l
}

fn main() {
    let ctx = Context { region: "eu".into() };
    let tenant = mine::WorkflowContext { tenant: "acme".into() };
    // Called directly with its inputs; started by an engine with them as `W::Input`.
    let _ = plain(ctx.clone(), tenant.clone());
    let input: <plain as sayiir::Workflow>::Input = (ctx.clone(), tenant.clone());
    let _: <both as sayiir::Workflow>::Input = input;
    let mut shared = sayiir::WorkflowContext::new();
    let _ = both(&mut shared, ctx, tenant);
}
