//! Prometheus scraping against real targets: Debian's node exporter, a target that
//! is killed (`up` goes to 0), a malformed exposition (reported, skipped, not fatal)
//! and a target slower than its timeout (blocks nobody).

use std::time::Duration;

use serde_json::json;

use crate::helpers::*;
use crate::targets::Target;

#[actix_rt::test]
async fn node_exporter_series_are_queryable_with_their_labels() {
    let mut isolation = Isolation::new();
    let dir = tempfile::tempdir().unwrap();
    let exporter = NodeExporter::start(dir.path()).await;
    let mut vigil = Vigil::start(&isolation, dir.path(), &[]).await;
    let reader = vigil.reader().await;
    let instance = exporter
        .url
        .trim_start_matches("http://")
        .trim_end_matches("/metrics")
        .to_string();
    let config = agent_config(
        &vigil.address,
        dir.path(),
        "1s",
        &format!(
            "[host]\nenabled = false\n\n[[scrape.targets]]\nurl = \"{}\"\njob = \"node\"\ntags = {{ role = \"test\" }}\n",
            exporter.url
        ),
    );
    let mut agent = Agent::start(dir.path(), &config, &[]);

    // Counters with labels: node_cpu_seconds_total{cpu, mode}.
    let tags = eventually(ARRIVAL_DEADLINE, || async {
        let tags = reader.tags("node_cpu_seconds_total").await?;
        if tags.contains_key("mode") && tags.contains_key("cpu") {
            Ok(tags)
        } else {
            Err(format!(
                "expected node_cpu_seconds_total with mode and cpu tags; got {tags:?}; agent log:\n{}",
                agent.process.log_tail()
            ))
        }
    })
    .await;
    assert_eq!(tags["job"], ["node"]);
    assert_eq!(tags["instance"], [instance]);
    assert_eq!(tags["role"], ["test"]);
    assert_eq!(tags["host"], ["agent-test-host"]);
    assert!(
        tags["mode"].contains(&"idle".to_string()),
        "modes: {:?}",
        tags["mode"]
    );

    // A gauge, compared with the kernel: node_memory_MemTotal_bytes == /proc/meminfo.
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap();
    let kib: f64 = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap()
        .parse()
        .unwrap();
    eventually(ARRIVAL_DEADLINE, || async {
        let rows = reader
            .query("node_memory_MemTotal_bytes", "max", json!({"job": "node"}))
            .await?;
        match rows.last() {
            Some((_, v)) if *v == kib * 1024.0 => Ok(()),
            other => Err(format!(
                "expected node_memory_MemTotal_bytes = {}; got {other:?}",
                kib * 1024.0
            )),
        }
    })
    .await;

    // A summary keeps its quantile label; the target is up.
    let summary = reader.tags("go_gc_duration_seconds").await.unwrap();
    assert!(
        summary.contains_key("quantile"),
        "go_gc_duration_seconds tags: {summary:?}"
    );
    let names = reader.metric_names().await;
    for name in [
        "go_gc_duration_seconds_sum",
        "go_gc_duration_seconds_count",
        "scrape_duration_seconds",
        "scrape_samples_scraped",
    ] {
        assert!(
            names.contains(&name.to_string()),
            "{name} missing from {} metric names",
            names.len()
        );
    }
    let up = reader
        .query("up", "min", json!({"job": "node"}))
        .await
        .unwrap();
    assert!(
        !up.is_empty() && up.iter().all(|(_, v)| *v == 1.0),
        "up{{job=node}}: {up:?}"
    );

    agent.stop().await;
    vigil.stop().await;
    isolation.remove_all().await;
}

const GOOD: &str = "# TYPE good_gauge gauge\ngood_gauge{kind=\"x\"} 42\n";
/// Line 2 is broken; line 3 alone would be fine, but a malformed exposition is
/// refused as a whole.
const MALFORMED: &str = "# TYPE bad_gauge gauge\nbad_gauge{kind=\"x\" 1\nbad_valid_line 7\n";
const SLOW: &str = "slow_gauge 1\n";

#[actix_rt::test]
async fn a_killed_target_reports_up_0_a_malformed_one_is_skipped_and_a_slow_one_blocks_nobody() {
    let mut isolation = Isolation::new();
    let dir = tempfile::tempdir().unwrap();
    let good = Target::serve(GOOD, Duration::ZERO);
    let malformed = Target::serve(MALFORMED, Duration::ZERO);
    // Slower than its 500ms timeout on every round.
    let slow = Target::serve(SLOW, Duration::from_secs(5));
    let mut vigil = Vigil::start(&isolation, dir.path(), &[]).await;
    let db = database(&isolation);
    let targets = format!(
        "[host]\nenabled = false\n\n\
         [[scrape.targets]]\nurl = \"{}\"\njob = \"good\"\ninterval = \"500ms\"\n\n\
         [[scrape.targets]]\nurl = \"{}\"\njob = \"malformed\"\ninterval = \"500ms\"\n\n\
         [[scrape.targets]]\nurl = \"{}\"\njob = \"slow\"\ninterval = \"1s\"\ntimeout = \"500ms\"\n",
        good.url, malformed.url, slow.url
    );
    let config = agent_config(&vigil.address, dir.path(), "1s", &targets);
    let mut agent = Agent::start(dir.path(), &config, &[]);

    let up_of = |points: &[Stored], job: &str| -> Vec<f64> {
        points
            .iter()
            .filter(|p| p.labels.get("job").map(String::as_str) == Some(job))
            .map(|p| p.value)
            .collect()
    };

    // The good target is up and scraped at its pace although the slow one never
    // answers in time: at least 6 rounds (3 s at 500ms) while slow has had ~3.
    eventually(ARRIVAL_DEADLINE, || async {
        let up = stored(&db, "up").await;
        let good_rounds = up_of(&up, "good");
        let slow_rounds = up_of(&up, "slow");
        if good_rounds.len() >= 6 && good_rounds.iter().all(|v| *v == 1.0) && !slow_rounds.is_empty() {
            Ok(())
        } else {
            Err(format!("expected >= 6 rounds of up{{job=good}} = 1 and some of slow; got good {good_rounds:?}, slow {slow_rounds:?}; agent log:\n{}", agent.process.log_tail()))
        }
    })
    .await;
    let up = stored(&db, "up").await;
    assert!(
        up_of(&up, "slow").iter().all(|v| *v == 0.0),
        "a target slower than its timeout is down: {:?}",
        up_of(&up, "slow")
    );
    assert!(
        up_of(&up, "malformed").iter().all(|v| *v == 0.0),
        "a malformed target is down: {:?}",
        up_of(&up, "malformed")
    );
    assert!(!up_of(&up, "malformed").is_empty());
    let good_points = stored(&db, "good_gauge").await;
    assert!(good_points
        .iter()
        .all(|p| p.value == 42.0 && p.labels["kind"] == "x"));

    // Nothing of the malformed exposition is stored, and the agent says why.
    for name in ["bad_gauge", "bad_valid_line", "slow_gauge"] {
        let points = stored(&db, name).await;
        assert!(
            points.is_empty(),
            "expected no {name} points; got {points:?}"
        );
    }
    let log = agent.process.log();
    assert!(
        log.contains("malformed exposition: line 2"),
        "expected the agent to report the malformed line; log:\n{}",
        agent.process.log_tail()
    );
    eventually(ARRIVAL_DEADLINE, || async {
        let errors = stored(&db, "vigil_agent_scrape_errors_total").await;
        let reasons: Vec<(String, String)> = errors
            .iter()
            .map(|p| (p.labels["job"].clone(), p.labels["reason"].clone()))
            .collect();
        if reasons.contains(&("malformed".into(), "malformed".into()))
            && reasons.contains(&("slow".into(), "timeout".into()))
        {
            Ok(())
        } else {
            Err(format!(
                "expected scrape errors malformed/malformed and slow/timeout; got {reasons:?}"
            ))
        }
    })
    .await;

    // Kill the good target: its up goes to 0 (Prometheus' semantics), the agent lives on.
    good.kill().await;
    let killed_at = chrono_free_now_ms();
    eventually(ARRIVAL_DEADLINE, || async {
        let up = stored(&db, "up").await;
        let after: Vec<f64> = up
            .iter()
            .filter(|p| p.labels["job"] == "good" && p.time_ms > killed_at + 1000)
            .map(|p| p.value)
            .collect();
        if after.len() >= 2 && after.iter().all(|v| *v == 0.0) {
            Ok(())
        } else {
            Err(format!(
                "expected up{{job=good}} = 0 after the kill; got {after:?}"
            ))
        }
    })
    .await;
    assert!(
        agent.process.is_running(),
        "the agent must survive bad targets; log:\n{}",
        agent.process.log_tail()
    );

    agent.stop().await;
    malformed.kill().await;
    slow.kill().await;
    vigil.stop().await;
    db.close().await;
    isolation.remove_all().await;
}
