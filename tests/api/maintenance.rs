//! Vigil keeps the tables it churns compact itself: with autovacuum off for the
//! rollup partitions, repeated late points (each recompute deletes and re-inserts the
//! minute rollups) are vacuumed by the maintenance actor, so the partition stays
//! bounded instead of growing by a copy per recompute; and the BRIN indexes of the
//! raw points are summarised.

use std::time::Duration;

use serde_json::Value;

use crate::helpers::*;

const METRIC: &str = "upkeep.churn";
const SERIES: usize = 40;
const MINUTES: i64 = 20;
const ROUNDS: usize = 4;

/// Heap bytes and manual vacuums over every leaf partition of `rollup_1m`, and
/// whether autovacuum ran on any of them (it must not, for the test to mean anything).
async fn rollup_state(app: &TestApp) -> (i64, i64, i64) {
    sqlx::query_as(
        "SELECT COALESCE(sum(pg_relation_size(s.relid)), 0)::bigint,
                COALESCE(sum(s.vacuum_count), 0)::bigint,
                COALESCE(sum(s.autovacuum_count), 0)::bigint
         FROM pg_stat_user_tables s WHERE s.relname LIKE 'rollup\\_1m\\_p%'",
    )
    .fetch_one(&app.db)
    .await
    .expect("reading rollup_1m statistics")
}

async fn disable_autovacuum(app: &TestApp) {
    let leaves: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = 'rollup_1m'::regclass",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert!(
        !leaves.is_empty(),
        "rollup_1m partitions exist from the start"
    );
    for leaf in leaves.iter().map(String::as_str).chain(["rollup_dirty"]) {
        sqlx::raw_sql(&format!(
            "ALTER TABLE \"{leaf}\" SET (autovacuum_enabled = false)"
        ))
        .execute(&app.db)
        .await
        .unwrap();
    }
}

/// One value per series and minute, the same timestamps every round: from the second
/// round on, every point is late into a settled minute whose rollup is recomputed.
fn body(round: usize, first_minute: i64) -> Value {
    Value::Array(
        (0..SERIES)
            .flat_map(|s| {
                (0..MINUTES).map(move |m| {
                    point(
                        METRIC,
                        (round * 1000 + s) as f64,
                        &[("host", &format!("h{s}"))],
                        first_minute + m * 60_000 + 5_000,
                    )
                })
            })
            .collect(),
    )
}

#[actix_web::test]
async fn the_maintenance_actor_vacuums_rollup_churn_and_summarises_brin() {
    let app = spawn_app_with(|s| {
        s.maintenance.interval = Duration::from_millis(500);
        s.maintenance.vacuum_dead_rows = 100;
        s.maintenance.vacuum_dead_fraction = 0.1;
        s.rollup.settle = Duration::from_secs(1);
    })
    .await;
    disable_autovacuum(&app).await;
    let now = now_ms();
    // Minutes well settled, and (but for the first minutes after midnight) in today's
    // partition, which exists from the start.
    let first_minute = (now - 50 * 60_000).div_euclid(60_000) * 60_000;
    let per_round = SERIES * MINUTES as usize;

    let mut sizes = Vec::new();
    for round in 0..ROUNDS {
        let (_, vacuums_before, _) = rollup_state(&app).await;
        app.post_metrics(&body(round, first_minute))
            .await
            .assert_status(202, "a round of points");
        app.wait_for_points(METRIC, per_round * (round + 1)).await;
        app.maintenance.run_rollups().await.expect("rollup round");
        let rollup_rows: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM rollup_1m r JOIN series s ON s.id = r.series_id WHERE s.metric = $1",
        )
        .bind(METRIC)
        .fetch_one(&app.db)
        .await
        .unwrap();
        assert_eq!(
            rollup_rows, per_round as i64,
            "one rollup row per series and minute"
        );
        if round > 0 {
            // The recompute left `per_round` dead rows, past the threshold: Vigil
            // vacuums them (the statistics reach it within PostgreSQL's ~10 s flush).
            eventually(Duration::from_secs(30), || async {
                let (_, vacuums, _) = rollup_state(&app).await;
                if vacuums > vacuums_before {
                    Ok(())
                } else {
                    Err(format!(
                        "round {round}: no VACUUM of rollup_1m yet ({vacuums} vacuums, {vacuums_before} before)"
                    ))
                }
            })
            .await;
        }
        sizes.push(rollup_state(&app).await.0);
    }
    let (_, vacuums, autovacuums) = rollup_state(&app).await;
    assert_eq!(autovacuums, 0, "autovacuum is off for these tables");
    assert!(vacuums >= (ROUNDS - 1) as i64, "{vacuums} vacuums");
    // Without the vacuums every recompute adds a copy of the rows (ROUNDS x the first
    // size); with them the freed space is reused and the heap stays within ~2x.
    let bound = sizes[0] * 2 + 8192;
    assert!(
        *sizes.last().unwrap() <= bound,
        "rollup_1m heap sizes by round {sizes:?}: the last exceeds {bound}"
    );

    // Every BRIN range of the raw points is summarised by Vigil: summarising again
    // finds nothing new.
    app.maintenance.run_upkeep().await.expect("an upkeep round");
    let left: i64 = sqlx::query_scalar(
        "SELECT COALESCE(sum(brin_summarize_new_values(c.oid)), 0)::bigint
         FROM pg_class c JOIN pg_am a ON a.oid = c.relam
         WHERE c.relkind = 'i' AND a.amname = 'brin'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(
        left, 0,
        "BRIN ranges left unsummarised after an upkeep round"
    );
    app.cleanup().await;
}
