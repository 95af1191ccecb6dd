// The error type of a task with a timeout must be able to hold the timeout.
#[derive(serde::Serialize, serde::Deserialize, Debug)]
enum ChargeError {
    Declined,
}

#[sayiir::task(retries = 2, timeout = "30s")]
async fn charge(amount: u64) -> Result<u64, ChargeError> {
    if amount == 0 { Err(ChargeError::Declined) } else { Ok(amount) }
}

fn main() {}
