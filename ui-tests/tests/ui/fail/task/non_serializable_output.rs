// A task's return value is stored, so it must implement serde's traits.
#[derive(serde::Serialize)]
struct Receipt {
    total: u64,
}

#[sayiir::task]
async fn charge(total: u64) -> Receipt {
    Receipt { total }
}

fn main() {}
