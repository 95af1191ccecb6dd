// One resource value serves every run of a task for as long as the engine lives: its type
// cannot borrow.
use sayiir::Res;

#[sayiir::task]
async fn greet(name: String, greeting: Res<&str>) -> String {
    format!("{}, {name}", *greeting)
}

fn main() {}
