// `rate` is a count per second, minute or hour; `burst` needs a `rate`.
#[sayiir::task(rate = "abc")]
async fn charge(amount: u64) -> u64 {
    amount
}

#[sayiir::task(burst = 3)]
async fn refund(amount: u64) -> u64 {
    amount
}

fn main() {}
