// A task cannot take `self`: its arguments are stored.
struct Client;

impl Client {
    #[sayiir::task]
    async fn charge(&self, amount: u64) -> u64 {
        amount
    }
}

fn main() {}
