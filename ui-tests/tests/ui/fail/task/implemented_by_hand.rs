// `sayiir::Task` is sealed: only `#[sayiir::task]` implements it.
struct Charge;

impl sayiir::Task for Charge {
    type Return = u64;
    const NAME: &'static str = "charge";
    const SIGNATURE_HASH: [u8; 32] = [0; 32];
    const OPTIONS: sayiir::TaskOptions = sayiir::TaskOptions::DEFAULT;
}

fn main() {}
