// A method call cannot be awaited in a workflow: it is not a task.
struct Client;

impl Client {
    async fn fetch(&self, n: u64) -> u64 {
        n
    }
}

#[sayiir::workflow]
async fn flow(n: u64) -> u64 {
    let client = Client;
    client.fetch(n).await
}

fn main() {}
