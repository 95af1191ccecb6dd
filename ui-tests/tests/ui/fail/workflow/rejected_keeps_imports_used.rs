// A rejected workflow reports its error and nothing else: the imports of the tasks its body
// calls are still used (no `unused import` warning).
mod tasks {
    #[sayiir::task]
    pub async fn reserve(n: u64) -> u64 {
        n
    }

    #[sayiir::task]
    pub async fn ship(n: u64) -> u64 {
        n
    }
}

use tasks::{reserve, ship};

#[sayiir::workflow]
async fn flow(n: u64) -> u64 {
    let reserved = reserve(n).await;
    let shipped = ship(reserved).await;
    let later = async move { shipped };
    drop(later);
    shipped
}

fn main() {}
