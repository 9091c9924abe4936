//! Vigil stopped for 30 s while the agent runs: every point recorded in the window
//! arrives once Vigil is back, none twice.
//!
//! The agent scrapes a probe that serves `outage_probe <n>`, n counting up per
//! request, every 500ms, so the test knows exactly which points were recorded. The
//! memory buffer is made smaller than what the outage produces, so batches spill to
//! disk and come back from there. The outage length is `AGENT_TEST_OUTAGE_SECS`
//! (default 30, the figure of the issue).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::helpers::*;
use crate::targets::Probe;

fn outage() -> Duration {
    let secs = std::env::var("AGENT_TEST_OUTAGE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    Duration::from_secs(secs)
}

#[actix_rt::test]
async fn vigil_stopped_for_30s_loses_no_point_and_stores_none_twice() {
    let mut isolation = Isolation::new();
    let dir = tempfile::tempdir().unwrap();
    let probe = Probe::serve();
    let mut vigil = Vigil::start(&isolation, dir.path(), &[]).await;
    let db = database(&isolation);
    // 5 points a round (the probe, up, scrape_duration_seconds, scrape_samples_scraped,
    // vigil_agent_scrape_samples_skipped) every 500ms: 300 in 30 s, against a memory
    // buffer of 50 points in batches of 10.
    let config = agent_config(
        &vigil.address,
        dir.path(),
        "1s",
        &format!(
            "[host]\nenabled = false\n\n[[scrape.targets]]\nurl = \"{}\"\njob = \"probe\"\ninterval = \"500ms\"\n",
            probe.target.url
        ),
    );
    let mut agent = Agent::start(
        dir.path(),
        &config,
        &[
            ("VIGIL_AGENT__DELIVERY__BATCH_SIZE", "10"),
            ("VIGIL_AGENT__BUFFER__MEMORY_MAX_POINTS", "50"),
        ],
    );
    eventually(ARRIVAL_DEADLINE, || async {
        match stored(&db, "outage_probe").await.len() {
            0 => Err(format!(
                "expected outage_probe points before the outage; agent log:\n{}",
                agent.process.log_tail()
            )),
            _ => Ok(()),
        }
    })
    .await;

    vigil.stop().await;
    let stopped = Instant::now();
    let served_at_stop = probe.served().len();
    let spill = dir.path().join("spill");
    // The outage itself: the agent keeps scraping (the probe counts its requests)
    // and spills to disk. Polled, not slept: it ends when both the time has passed
    // and the disk buffer has been used.
    let outage = outage();
    eventually(outage + Duration::from_secs(30), || async {
        let spilled = std::fs::read_dir(&spill).map(|d| d.count()).unwrap_or(0);
        if stopped.elapsed() >= outage && spilled > 0 {
            Ok(())
        } else {
            Err(format!(
                "outage: {:?} of {outage:?}, {spilled} batches spilled to {}",
                stopped.elapsed(),
                spill.display()
            ))
        }
    })
    .await;
    let served_in_outage = probe.served().len() - served_at_stop;
    assert!(
        served_in_outage as u64 >= outage.as_secs(),
        "the agent kept scraping during the outage: {served_in_outage} rounds"
    );

    vigil.restart().await;
    // Let the agent catch up, then stop the probe so the set of points is final.
    eventually(ARRIVAL_DEADLINE, || async {
        let n = stored(&db, "outage_probe").await.len();
        if n > served_at_stop + served_in_outage / 2 {
            Ok(())
        } else {
            Err(format!(
                "expected the outage's points to flow in; {n} stored"
            ))
        }
    })
    .await;
    probe.target.kill().await;
    let served = probe.served();

    let verdict = eventually(ARRIVAL_DEADLINE, || async {
        let points = stored(&db, "outage_probe").await;
        let mut per_value: BTreeMap<u64, usize> = BTreeMap::new();
        let mut per_time: BTreeMap<i64, usize> = BTreeMap::new();
        for p in &points {
            *per_value.entry(p.value as u64).or_default() += 1;
            *per_time.entry(p.time_ms).or_default() += 1;
        }
        let twice: Vec<_> = per_value.iter().filter(|(_, n)| **n > 1).collect();
        if !twice.is_empty() {
            // Duplicates never go away: fail at once.
            panic!("points stored more than once (value -> copies): {twice:?}");
        }
        if let Some((time, n)) = per_time.iter().find(|(_, n)| **n > 1) {
            panic!("{n} points stored at timestamp {time}: a batch was stored twice");
        }
        let missing: Vec<u64> = served
            .iter()
            .filter(|v| !per_value.contains_key(v))
            .copied()
            .collect();
        // The last value may have been served to a scrape whose answer the kill cut
        // off (the agent records nothing of such a round); every other one must be there.
        let last = served.last().copied();
        if missing.is_empty() || (missing.len() == 1 && Some(missing[0]) == last) {
            Ok(points.len())
        } else {
            Err(format!(
                "expected every served value stored once; {} of {} missing: {:?}...",
                missing.len(),
                served.len(),
                &missing[..missing.len().min(20)]
            ))
        }
    })
    .await;
    assert!(
        verdict <= served.len() && verdict + 1 >= served.len(),
        "stored points {verdict} vs served probe values {}",
        served.len()
    );

    // Nothing was dropped, and the disk buffer drained.
    eventually(ARRIVAL_DEADLINE, || async {
        let spilled = std::fs::read_dir(&spill).map(|d| d.count()).unwrap_or(0);
        if spilled == 0 {
            Ok(())
        } else {
            Err(format!("{spilled} batches still in {}", spill.display()))
        }
    })
    .await;
    let dropped = stored(&db, "vigil_agent_points_dropped_total").await;
    assert!(
        dropped.iter().all(|p| p.value == 0.0),
        "points dropped: {dropped:?}"
    );
    eprintln!(
        "outage: {} probe points recorded, {served_in_outage} during a {outage:?} outage, all stored once",
        served.len()
    );

    agent.stop().await;
    vigil.stop().await;
    db.close().await;
    isolation.remove_all().await;
}
