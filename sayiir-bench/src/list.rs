//! `list`: operators' listings on a large store. Fills a fresh store with N instances (a mix
//! of workflows, versions and statuses, some blocked, created over a month: see
//! `list/model.rs`) through the store's own calls (`create_batch`, then `commit_batch` of the
//! commits that finish or block them, 2,000 per transaction), claims a few hundred of the due
//! ones, then times pages of 50 for each filter of `ListQuery` that an index serves, and
//! `Store::backlog`. Each page is timed `--list-reps` times and the median reported, for the
//! first page and for a page deep in the results (`after` the middle one); every page is
//! checked against the model. `--explain` prints each listing's plan (PostgreSQL: `EXPLAIN
//! ANALYZE`). On PostgreSQL the table is vacuumed and analyzed after the fill, as autovacuum
//! would.

mod model;
mod pages;

use std::num::NonZeroUsize;
use std::time::{Duration, Instant};

use sayiir::{PgStore, SqliteStore};
use sayiir_store::{
    BlockKind, ClaimRequest, DefinitionHash, Fingerprint, InstanceId, ListQuery, Status, Store,
    Timestamp, WorkerId, WorkflowKey,
};

use self::model::{DAY_MS, HOUR_MS, Meta, WORKFLOWS, generate};
use crate::BoxError;
use crate::args::Args;
use crate::baseline::{quantile_ms, rate};
use crate::figures::Row;
use crate::target::{Place, StoreKind};

/// Instances per store transaction of the fill.
const BATCH: usize = 2_000;
/// Instances a worker holds leases on while the listings are timed.
const IN_FLIGHT: usize = 500;
/// The page size.
const PAGE: usize = 50;

/// The store, as the scenario opened it (the plans need the backend's own hook).
enum Opened {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

impl Opened {
    fn store(&self) -> &dyn Store {
        match self {
            Opened::Sqlite(s) => s,
            Opened::Postgres(s) => s,
        }
    }

    async fn backlog_plan(&self, now: Timestamp) -> Result<Vec<String>, BoxError> {
        Ok(match self {
            Opened::Sqlite(s) => s.backlog_plan_for_tests(now).await?,
            Opened::Postgres(s) => s.backlog_plan_for_tests(now).await?,
        })
    }

    async fn plan(&self, query: &ListQuery) -> Result<Vec<String>, BoxError> {
        Ok(match self {
            Opened::Sqlite(s) => s.list_plan_for_tests(query.clone()).await?,
            Opened::Postgres(s) => s.list_plan_for_tests(query).await?,
        })
    }
}

/// A filter timed by the scenario: its name, the query, and which instances it lists.
struct Case {
    name: &'static str,
    query: ListQuery,
    keep: Box<dyn Fn(&Meta) -> bool>,
}

fn cases(now: i64) -> Vec<Case> {
    let wf = |name: &'static str| WORKFLOWS.iter().position(|(w, _)| *w == name);
    let checkout = wf("checkout");
    let refund = wf("refund");
    let attention = |m: &Meta| m.block.is_some_and(BlockKind::needs_attention);
    let day = (now - 10 * DAY_MS, now - 9 * DAY_MS);
    let hour = (now - 5 * DAY_MS, now - 5 * DAY_MS + HOUR_MS);
    let updated = (now - 20 * DAY_MS, now - 19 * DAY_MS);
    let is = move |m: &Meta, w: Option<usize>| Some(usize::from(m.wf)) == w;
    let case = |name, query, keep: Box<dyn Fn(&Meta) -> bool>| Case { name, query, keep };
    let q = ListQuery::new;
    vec![
        case("all", q(), Box::new(|_| true)),
        case(
            "status_failed",
            q().status(Status::Failed),
            Box::new(|m| m.status == Status::Failed),
        ),
        case(
            "status_running",
            q().status(Status::Running),
            Box::new(|m| m.status == Status::Running),
        ),
        case(
            "workflow",
            q().workflow("refund"),
            Box::new(move |m| is(m, refund)),
        ),
        case(
            "workflow_status",
            q().workflow("checkout").status(Status::Failed),
            Box::new(move |m| is(m, checkout) && m.status == Status::Failed),
        ),
        case(
            "workflow_version_status",
            q().workflow("checkout").version(1).status(Status::Running),
            Box::new(move |m| is(m, checkout) && m.version == 1 && m.status == Status::Running),
        ),
        case(
            "block_parked",
            q().blocked_by([BlockKind::Parked]),
            Box::new(|m| m.block == Some(BlockKind::Parked)),
        ),
        case("attention", q().needs_attention(), Box::new(attention)),
        case(
            "attention_running",
            q().needs_attention().status(Status::Running),
            Box::new(move |m| attention(m) && m.status == Status::Running),
        ),
        case(
            "prefix",
            q().id_prefix("shipping-0004"),
            Box::new(|m| m.id().starts_with("shipping-0004")),
        ),
        case(
            "prefix_status",
            q().id_prefix("billing-").status(Status::Failed),
            Box::new(|m| m.workflow() == "billing" && m.status == Status::Failed),
        ),
        case(
            "created_day",
            q().created_from(Timestamp(day.0))
                .created_until(Timestamp(day.1)),
            Box::new(move |m| (day.0..day.1).contains(&m.created)),
        ),
        case(
            "created_day_status",
            q().created_from(Timestamp(day.0))
                .created_until(Timestamp(day.1))
                .status(Status::Failed),
            Box::new(move |m| (day.0..day.1).contains(&m.created) && m.status == Status::Failed),
        ),
        case(
            "created_hour",
            q().created_from(Timestamp(hour.0))
                .created_until(Timestamp(hour.1)),
            Box::new(move |m| (hour.0..hour.1).contains(&m.created)),
        ),
        case(
            "updated_day",
            q().updated_from(Timestamp(updated.0))
                .updated_until(Timestamp(updated.1)),
            Box::new(move |m| (updated.0..updated.1).contains(&m.updated)),
        ),
    ]
}

async fn open(kind: StoreKind, place: &Place) -> Result<Opened, BoxError> {
    let locator = place.locator();
    Ok(match kind {
        StoreKind::Postgres => Opened::Postgres(PgStore::connect(&locator).await?),
        StoreKind::SqliteFull | StoreKind::SqliteNormal => {
            Opened::Sqlite(SqliteStore::open_with(&locator, kind.sqlite_options())?)
        }
    })
}

/// Creates the instances of `metas` and commits what finishes or blocks them.
async fn fill(store: &dyn Store, metas: &[Meta], label: &str) -> Result<(), BoxError> {
    let mut last_print = Instant::now();
    for (i, chunk) in metas.chunks(BATCH).enumerate() {
        let news = chunk
            .iter()
            .map(Meta::new_instance)
            .collect::<Result<Vec<_>, _>>()?;
        for r in store.create_batch(news).await? {
            r?;
        }
        let mut transitions = Vec::new();
        for m in chunk {
            transitions.extend(m.transition()?);
        }
        for r in store.commit_batch(transitions).await? {
            r?;
        }
        if last_print.elapsed() > Duration::from_secs(10) {
            eprintln!("{label}: {} instances", (i + 1) * BATCH);
            last_print = Instant::now();
        }
    }
    Ok(())
}

/// Fills the fresh store at `place` with `n` finished instances (`--prefill`): the mix of
/// [`generate`] (workflows, versions, created over a month), the running ones completed too,
/// written as the scenario's fill writes them; on PostgreSQL then `VACUUM ANALYZE`, as
/// autovacuum would after such a load. The store is closed again before the scenario opens it.
pub(crate) async fn prefill(
    kind: StoreKind,
    place: &Place,
    n: usize,
    label: &str,
) -> Result<(), BoxError> {
    if n == 0 {
        return Ok(());
    }
    let label = format!("prefill {label} [{}]", kind.name());
    let opened = open(kind, place).await?;
    let metas: Vec<Meta> = generate(n, Timestamp::now().0)
        .into_iter()
        .map(|mut m| {
            if m.status == Status::Running {
                m.status = Status::Completed;
                m.block = None;
                m.due = None;
            }
            m
        })
        .collect();
    eprintln!("{label}: filling the store with {n} finished instances");
    let start = Instant::now();
    fill(opened.store(), &metas, &label).await?;
    eprintln!("{label}: filled in {:.1} s", start.elapsed().as_secs_f64());
    // An application that ran for months had its instance counts kept up as it went (on
    // PostgreSQL, its workers fold the count deltas its writes append): one stats read folds
    // the fill's, so that the scenario does not pay for the fill's million deltas.
    let start = Instant::now();
    opened.store().version_counts().await?;
    eprintln!(
        "{label}: counts read in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    if let Opened::Postgres(pg) = &opened {
        let start = Instant::now();
        sayiir::sqlx::raw_sql("VACUUM ANALYZE")
            .execute(pg.pool())
            .await?;
        eprintln!(
            "{label}: vacuumed in {:.1} s",
            start.elapsed().as_secs_f64()
        );
    }
    drop(opened);
    Ok(())
}

/// Claims up to [`IN_FLIGHT`] due instances at `now` and marks them (and what the claim
/// changed) in `metas`.
async fn claim(store: &dyn Store, metas: &mut [Meta], now: i64) -> Result<(), BoxError> {
    let mut known: Vec<WorkflowKey> = Vec::new();
    for m in metas.iter() {
        let key = WorkflowKey {
            workflow: m.workflow().to_owned(),
            hash: DefinitionHash([m.wf * 16 + u8::try_from(m.version)?; 32]),
            fingerprint: Fingerprint([(m.wf * 16 + u8::try_from(m.version)?) ^ 0xff; 32]),
        };
        if !known.contains(&key) {
            known.push(key);
        }
    }
    let claimed = store
        .claim(ClaimRequest {
            owner: WorkerId("bench-worker".into()),
            now: Timestamp(now),
            lease_until: Timestamp(now + HOUR_MS),
            limit: IN_FLIGHT,
            known,
        })
        .await?;
    for c in claimed {
        let n: usize = c
            .record
            .id
            .as_str()
            .rsplit('-')
            .next()
            .and_then(|n| n.parse().ok())
            .ok_or("a claimed id not of the benchmark")?;
        let m = metas.get_mut(n).ok_or("a claimed id out of range")?;
        m.leased = true;
        if m.block == Some(BlockKind::VersionMismatch) {
            m.block = None;
        }
    }
    Ok(())
}

/// The median time of `reps` listings of `query`, checking each page against `want`.
async fn time_page(
    store: &dyn Store,
    query: &ListQuery,
    want: &[String],
    reps: usize,
    what: &str,
) -> Result<f64, BoxError> {
    let mut times = Vec::with_capacity(reps);
    for _ in 0..reps {
        let t = Instant::now();
        let listing = store.list(query).await?;
        times.push(t.elapsed());
        let got: Vec<&str> = listing.instances.iter().map(|s| s.id.as_str()).collect();
        if got != want || !listing.damaged.is_empty() {
            return Err(format!(
                "{what}: listed {} instances ({:?}…), expected {} ({:?}…)",
                got.len(),
                got.first(),
                want.len(),
                want.first()
            )
            .into());
        }
    }
    Ok(quantile_ms(&mut times, 0.5))
}

/// Runs the scenario on a fresh store of `kind`.
pub(crate) async fn run(args: &Args, kind: StoreKind) -> Result<Row, BoxError> {
    let label = format!("list [{}]", kind.name());
    let place = Place::new(kind, args.pg_url.as_deref(), "list").await?;
    let opened = open(kind, &place).await?;
    let store = opened.store();
    let n = args.list_instances;
    let now = Timestamp::now().0;
    let mut metas = generate(n, now);
    let mut row = Row::new("list", kind.name());
    row.set("instances", n as f64);

    eprintln!("{label}: filling the store with {n} instances");
    let start = Instant::now();
    fill(store, &metas, &label).await?;
    let took = start.elapsed();
    row.set("fill_s", took.as_secs_f64());
    row.set("fill_per_s", rate(n, took));
    eprintln!("{label}: filled in {:.1} s", took.as_secs_f64());
    claim(store, &mut metas, now).await?;
    // The first count after the fill: on PostgreSQL it folds every delta the fill's triggers
    // appended (two per finished instance), which workers' heartbeats would have folded as
    // they went.
    let start = Instant::now();
    store.version_counts().await?;
    let first_counts_ms = start.elapsed().as_secs_f64() * 1e3;
    eprintln!("{label}: first version_counts after the fill {first_counts_ms:.1} ms");
    row.set("first_version_counts_ms", first_counts_ms);
    if let Opened::Postgres(pg) = &opened {
        // What autovacuum does after such a change: drop the index entries of the row versions
        // the finishing commits replaced (the due index would hold every instance ever due),
        // and gather the statistics the planner chooses indexes by.
        let start = Instant::now();
        sayiir::sqlx::raw_sql("VACUUM ANALYZE sayiir_instances, sayiir_count_deltas")
            .execute(pg.pool())
            .await?;
        eprintln!(
            "{label}: vacuumed in {:.1} s",
            start.elapsed().as_secs_f64()
        );
    }

    let reps = args.list_reps;
    let page = NonZeroUsize::new(PAGE);
    for case in cases(now) {
        let mut matching: Vec<&Meta> = metas.iter().filter(|m| (case.keep)(m)).collect();
        matching.sort_by_key(|m| m.key());
        let ids = |from: usize| -> Vec<String> {
            matching
                .iter()
                .skip(from)
                .take(PAGE)
                .map(|m| m.id())
                .collect()
        };
        let first = case.query.clone().limit(page);
        let first_ms = time_page(store, &first, &ids(0), reps, case.name).await?;
        let middle = matching.len() / 2;
        let cursor = matching
            .get(middle)
            .map(|m| InstanceId::new(m.id()))
            .transpose()?;
        let deep_from = if cursor.is_some() { middle + 1 } else { 0 };
        let deep = case.query.clone().after(cursor).limit(page);
        let deep_ms = time_page(store, &deep, &ids(deep_from), reps, case.name).await?;
        eprintln!(
            "{label}: {:<24} {:>8} match  first page {first_ms:>8.3} ms  deep page {deep_ms:>8.3} ms",
            case.name,
            matching.len()
        );
        row.set(&format!("{}_first_ms", case.name), first_ms);
        row.set(&format!("{}_deep_ms", case.name), deep_ms);
        if args.explain {
            for (which, q) in [("first", &first), ("deep", &deep)] {
                eprintln!("{label}: plan of {} ({which} page):", case.name);
                for line in opened.plan(q).await? {
                    eprintln!("    {line}");
                }
            }
        }
    }

    let due = metas.iter().filter(|m| m.in_backlog(now)).count();
    let oldest = metas
        .iter()
        .filter(|m| m.in_backlog(now))
        .filter_map(|m| m.due)
        .min();
    let mut times = Vec::with_capacity(reps);
    for _ in 0..reps {
        let t = Instant::now();
        let backlog = store.backlog(Timestamp(now)).await?;
        times.push(t.elapsed());
        if usize::try_from(backlog.due)? != due || backlog.oldest_due.map(|t| t.0) != oldest {
            return Err(
                format!("backlog {backlog:?}, expected {due} due, oldest {oldest:?}").into(),
            );
        }
    }
    let backlog_ms = quantile_ms(&mut times, 0.5);
    eprintln!("{label}: backlog ({due} due) {backlog_ms:.3} ms");
    if args.explain {
        eprintln!("{label}: plan of backlog:");
        for line in opened.backlog_plan(Timestamp(now)).await? {
            eprintln!("    {line}");
        }
    }
    row.set("backlog_ms", backlog_ms);
    row.set("backlog_due", due as f64);

    // `version_counts`: the counts per definition, status and block kind that stats pages
    // show (checked: they add up to every instance, and the failed ones to the model's).
    let failed = metas.iter().filter(|m| m.status == Status::Failed).count();
    let mut times = Vec::with_capacity(reps);
    for _ in 0..reps {
        let t = Instant::now();
        let counts = store.version_counts().await?;
        times.push(t.elapsed());
        let total: u64 = counts.iter().map(|c| c.count).sum();
        let failed_seen: u64 = counts
            .iter()
            .filter(|c| c.status == Status::Failed)
            .map(|c| c.count)
            .sum();
        if usize::try_from(total)? != metas.len() || usize::try_from(failed_seen)? != failed {
            return Err(format!(
                "version_counts: {total} instances ({failed_seen} failed), expected {} ({failed})",
                metas.len()
            )
            .into());
        }
    }
    let counts_ms = quantile_ms(&mut times, 0.5);
    eprintln!(
        "{label}: version_counts ({} instances) {counts_ms:.3} ms",
        metas.len()
    );
    row.set("version_counts_ms", counts_ms);

    // The list and stats pages of the HTTP API and the dashboard, whole requests.
    match &opened {
        Opened::Sqlite(s) => pages::time_pages(s.clone(), reps, &label, &mut row).await?,
        Opened::Postgres(s) => pages::time_pages(s.clone(), reps, &label, &mut row).await?,
    }
    drop(opened);
    Ok(row)
}
