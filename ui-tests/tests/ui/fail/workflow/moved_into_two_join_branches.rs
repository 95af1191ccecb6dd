// A value moved into one branch of a join cannot be used by another: clone it.
#[derive(serde::Serialize, serde::Deserialize)]
struct Order {
    id: u64,
}

#[sayiir::task]
async fn charge(order: Order) -> u64 {
    order.id
}

#[sayiir::task]
async fn ship(order: Order) -> u64 {
    order.id
}

#[sayiir::workflow]
async fn flow(order: Order) -> u64 {
    let (a, b) = sayiir::join!(charge(order), ship(order)).await;
    a + b
}

fn main() {}
