// `sayiir::Workflow` is sealed: only `#[sayiir::workflow]` implements it.
struct Checkout;

impl sayiir::Workflow for Checkout {
    type Input = u64;
    type Output = u64;
    const NAME: &'static str = "checkout";
    const VERSION: u32 = 1;
    const DEFINITION_HASH: [u8; 32] = [0; 32];
}

fn main() {}
