//! The batching loop on a fake write: batches form while one is written, each caller gets its
//! own result, and a wrong number of results fails the batch.

use std::sync::Mutex;

use super::*;

/// Echoes its items, answering a batch with `answered(n)` results.
struct Echo {
    answered: fn(usize) -> usize,
    outer: Option<StoreError>,
    /// Sizes of the batches written with `many`; 1 for `one`.
    seen: Arc<Mutex<Vec<(usize, &'static str)>>>,
}

impl BatchOp for Echo {
    type Item = u32;
    type Output = u32;
    const WHAT: &'static str = "echoes";

    fn one(&self, item: u32) -> impl Future<Output = Result<u32, StoreError>> + Send {
        self.seen.lock().unwrap().push((1, "one"));
        async move {
            if item == 0 {
                return Err(StoreError::Conflict {
                    id: sayiir_store::InstanceId::new("zero").unwrap(),
                    expected: 0,
                    actual: 1,
                });
            }
            Ok(item)
        }
    }

    fn many(
        &self,
        items: Vec<u32>,
    ) -> impl Future<Output = Result<Vec<Result<u32, StoreError>>, StoreError>> + Send {
        self.seen.lock().unwrap().push((items.len(), "many"));
        let keep = (self.answered)(items.len());
        let outer = self.outer.clone();
        async move {
            if let Some(e) = outer {
                return Err(e);
            }
            Ok((0..keep)
                .map(|i| Ok(items.get(i).copied().unwrap_or(0)))
                .collect())
        }
    }

    fn observe(&self, _n: usize, _took: Duration) {}
}

fn echo(answered: fn(usize) -> usize, outer: Option<StoreError>) -> (Batcher<Echo>, Seen) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let op = Echo {
        answered,
        outer,
        seen: seen.clone(),
    };
    let (batcher, serve) = Batcher::new(op, 8, Duration::ZERO);
    tokio::spawn(serve);
    (batcher, seen)
}

type Seen = Arc<Mutex<Vec<(usize, &'static str)>>>;

/// On a current-thread runtime the loop runs only once every submit of a `join!` is queued.
#[tokio::test]
async fn items_queued_together_form_one_batch_and_each_gets_its_result() {
    let (b, seen) = echo(|n| n, None);
    let (x, y, z) = tokio::join!(b.submit(1), b.submit(2), b.submit(3));
    assert_eq!((x.unwrap(), y.unwrap(), z.unwrap()), (1, 2, 3));
    let lone = b.submit(4).await.unwrap();
    assert_eq!(lone, 4);
    let own = b.submit(0).await;
    assert!(
        matches!(own, Err(BatchError::Own(StoreError::Conflict { .. }))),
        "{own:?}"
    );
    assert_eq!(*seen.lock().unwrap(), [(3, "many"), (1, "one"), (1, "one")]);
}

#[tokio::test]
async fn a_wrong_number_of_results_fails_the_whole_batch() {
    for answered in [|n| n - 1, |n| n + 1] {
        let (b, _) = echo(answered, None);
        let (x, y) = tokio::join!(b.submit(1), b.submit(2));
        for r in [x, y] {
            let Err(BatchError::Batch(e)) = &r else {
                panic!("every caller learns the batch failed: {r:?}")
            };
            let answered = answered(2);
            assert_eq!(
                e.to_string(),
                StoreError::Backend {
                    detail: format!("the store answered {answered} of a batch of 2 echoes")
                }
                .to_string()
            );
        }
    }
}

#[tokio::test]
async fn an_outer_error_reaches_every_caller_and_a_closed_loop_says_so() {
    let down = StoreError::Unavailable {
        detail: "down".into(),
    };
    let (b, _) = echo(|n| n, Some(down.clone()));
    let (x, y) = tokio::join!(b.submit(1), b.submit(2));
    for r in [x, y] {
        assert!(
            matches!(&r, Err(BatchError::Batch(e)) if e.to_string() == down.to_string()),
            "{r:?}"
        );
    }
    let (closed, serve) = Batcher::new(
        Echo {
            answered: |n| n,
            outer: None,
            seen: Arc::default(),
        },
        8,
        Duration::ZERO,
    );
    drop(serve);
    assert!(closed.is_closed());
    assert!(matches!(closed.submit(1).await, Err(BatchError::Closed)));
}
