// Task arguments are stored, so they must implement serde's traits.
struct Card {
    number: String,
}

#[sayiir::task]
async fn charge(card: Card) -> u64 {
    card.number.len() as u64
}

fn main() {}
