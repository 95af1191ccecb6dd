//! The commands on a PostgreSQL database (`SAYIIR_TEST_PG_URL`, or a throwaway cluster; the
//! tests are skipped with a banner without PostgreSQL, unless `SAYIIR_REQUIRE_PG=1`).

use sayiir_store::pg_harness;

use crate::checks;
use crate::common::populate;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_on_postgres() {
    let Some(db) = pg_harness::fresh_database("cli").await else {
        return; // the harness printed a SKIPPED banner
    };
    populate(sayiir::PgStore::connect(db.url()).await.unwrap()).await;
    let url = db.url();
    checks::list(url);
    checks::pages(url);
    checks::show_and_history(url);
    checks::stats_and_versions(url);
    checks::signal(url);
    checks::pause_and_resume(url);
    checks::retry_and_fail(url);
    checks::bulk_cancel(url);
    checks::schedules(url);
}
