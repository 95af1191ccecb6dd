//! `sayiir` depended on as `durable`: there is no `sayiir` crate name here, so the generated code
//! must use the `crate = durable` path for everything.

/// Adds one.
#[durable::task(crate = durable)]
pub async fn add_one(n: u64) -> u64 {
    n + 1
}

/// Adds two, durably.
#[durable::workflow(crate = durable)]
pub async fn add_two(n: u64) -> Result<u64, String> {
    let a = add_one(n).await;
    let b = add_one(a).await;
    Ok(b)
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn runs_under_the_renamed_crate() {
        assert_eq!(super::add_two(1).await, Ok(3));
        assert_ne!(super::add_two::DEFINITION_HASH, [0; 32]);
    }
}
