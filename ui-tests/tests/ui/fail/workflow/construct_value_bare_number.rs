// The value of a construct that awaits is bound in several transitions; a bare number in one
// branch would take its type from that transition's code alone. When the macro cannot tell the
// type from another branch, it asks for an annotation.
#[sayiir::task]
async fn small() -> u8 {
    7
}

fn fallback() -> u8 {
    1
}

#[sayiir::workflow]
async fn flow(c: bool) -> String {
    let v = if c {
        small().await;
        fallback()
    } else {
        200
    };
    format!("{}", v << 1)
}

fn main() {}
