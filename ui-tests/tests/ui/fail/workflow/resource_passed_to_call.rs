// The engine gives a task its resources when it runs: a workflow calls it without them.
use sayiir::Res;

struct Db;

#[sayiir::task]
async fn lookup(id: u64, db: Res<Db>) -> u64 {
    let _ = &*db;
    id
}

#[sayiir::workflow]
async fn find(id: u64) -> u64 {
    lookup(id, Res::new(Db)).await
}

fn main() {}
