// Every construct of the workflow body in a crate that denies warnings.
#![deny(warnings, unused, nonstandard_style)]

#[sayiir::task]
async fn step(n: u64) -> u64 {
    n + 1
}

#[sayiir::task]
async fn check(n: u64) -> Result<u64, String> {
    if n > 1000 { Err("too big".into()) } else { Ok(n) }
}

#[sayiir::task]
async fn undo(n: u64) {
    let _ = n;
}

#[sayiir::workflow]
async fn child(n: u64) -> u64 {
    step(n).await
}

#[sayiir::workflow(max_iterations = 1000)]
async fn everything(n: u64, items: Vec<u64>) -> Result<u64, String> {
    let mut total: u64 = 0;
    if n > 3 {
        total += step(n).await;
    } else if let Some(x) = Some(n) {
        total = child(x).await;
    }
    let checked: u64 = match check(total).await {
        Ok(v) if v > 10 => v,
        Ok(v) => step(v).await,
        Err(e) => {
            undo(total).await;
            return Err(e);
        }
    };
    'outer: for i in items {
        let mut j: u64 = 0;
        while j < 2 {
            j = step(j).await;
            if i == j {
                continue 'outer;
            }
        }
        total += i;
    }
    let last: u64 = loop {
        let v = step(total).await;
        if v > total {
            break v;
        }
    };
    let (a, b) = sayiir::join!(step(1), child(2)).await;
    let (c, d) = sayiir::try_join!(check(a), check(b)).await?;
    let ns: Vec<u64> = vec![c, d];
    let all = sayiir::join_all(ns.into_iter().map(|k| step(k))).await;
    let more = sayiir::try_join_all(all.iter().map(|k| check(*k))).await?;
    {
        let inner = step(checked).await;
        total += inner;
    }
    Ok(total + last + more.iter().sum::<u64>())
}

fn main() {
    let _ = everything;
}
