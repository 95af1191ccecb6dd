// Tasks run on any worker thread and share one resource value: it must be `Send + Sync`.
use std::rc::Rc;

use sayiir::Res;

#[sayiir::task]
async fn count(n: u64, seen: Res<Rc<u64>>) -> u64 {
    n + **seen
}

fn main() {}
