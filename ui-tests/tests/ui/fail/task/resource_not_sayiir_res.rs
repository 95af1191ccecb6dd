// A parameter whose type is written `Res<..>` is a resource: another type of that name is an
// error at the parameter, never taken silently for something else.
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Res<T>(T);

#[sayiir::task]
async fn keep(value: Res<u64>) -> u64 {
    value.0
}

fn main() {}
