//! Host metrics arrive in Vigil with the agent's tags and values that match what the
//! test reads from the kernel itself. Vigil runs with `auth.require_ingest_key`, so
//! this also proves the agent's ingest key is sent.

use serde_json::json;

use crate::helpers::*;

fn meminfo_total_bytes() -> f64 {
    let text = std::fs::read_to_string("/proc/meminfo").unwrap();
    let line = text.lines().find(|l| l.starts_with("MemTotal:")).unwrap();
    let kib: f64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024.0
}

fn command_output(program: &str, args: &[&str]) -> String {
    let out = std::process::Command::new(program)
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{program} {args:?} failed");
    String::from_utf8(out.stdout).unwrap()
}

#[actix_rt::test]
async fn host_metrics_arrive_with_tags_and_plausible_values() {
    let mut isolation = Isolation::new();
    let dir = tempfile::tempdir().unwrap();
    let mut vigil = Vigil::start(
        &isolation,
        dir.path(),
        &[("VIGIL__AUTH__REQUIRE_INGEST_KEY", "true")],
    )
    .await;
    let reader = vigil.reader().await;
    let key = reader.ingest_key().await.unwrap_or_default();
    let config = agent_config(&vigil.address, dir.path(), "1s", "[host]\nenabled = true\n");
    let mut agent = Agent::start(
        dir.path(),
        &config,
        &[("VIGIL_AGENT__SERVER__INGEST_KEY", &key)],
    );
    let db = database(&isolation);

    // Memory total, read back through the query API, equals /proc/meminfo exactly.
    let expected_total = meminfo_total_bytes();
    eventually(ARRIVAL_DEADLINE, || async {
        let rows = reader
            .query("system.mem.total", "max", json!({"host": "agent-test-host"}))
            .await?;
        match rows.last() {
            Some((_, v)) if *v == expected_total => Ok(()),
            other => Err(format!(
                "expected system.mem.total = {expected_total} (/proc/meminfo) for host agent-test-host; got {other:?}; agent log:\n{}",
                agent.process.log_tail()
            )),
        }
    })
    .await;

    // CPU usage needs two rounds; per core and total, all within 0..=100.
    let cores: usize = command_output("getconf", &["_NPROCESSORS_ONLN"])
        .trim()
        .parse()
        .unwrap();
    let usage = eventually(ARRIVAL_DEADLINE, || async {
        let points = stored(&db, "system.cpu.usage").await;
        let labels: std::collections::BTreeSet<String> = points
            .iter()
            .filter_map(|p| p.labels.get("cpu").cloned())
            .collect();
        if labels.len() == cores + 1 {
            Ok(points)
        } else {
            Err(format!(
                "expected system.cpu.usage for total and {cores} cores; got cpu tags {labels:?}"
            ))
        }
    })
    .await;
    assert!(
        usage.iter().all(|p| (0.0..=100.0).contains(&p.value)),
        "cpu usage out of range: {usage:?}"
    );
    assert!(usage
        .iter()
        .all(|p| p.labels.get("host").map(String::as_str) == Some("agent-test-host")));

    let latest = |points: Vec<Stored>| points.last().cloned();
    let count = latest(stored(&db, "system.cpu.count").await).expect("system.cpu.count stored");
    assert_eq!(
        count.value, cores as f64,
        "system.cpu.count vs getconf _NPROCESSORS_ONLN"
    );

    // Disk space of / equals df's.
    let df_size: f64 = command_output("df", &["-B1", "--output=size", "/"])
        .lines()
        .nth(1)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let disk = stored(&db, "system.disk.total").await;
    let root = disk
        .iter()
        .rev()
        .find(|p| p.labels.get("mount").map(String::as_str) == Some("/"))
        .unwrap_or_else(|| panic!("expected system.disk.total for mount /; got {disk:?}"));
    assert_eq!(root.value, df_size, "system.disk.total{{mount=/}} vs df");
    assert!(root.labels.contains_key("fstype") && root.labels.contains_key("device"));

    // Uptime close to /proc/uptime; load and process counts plausible.
    let uptime: f64 = std::fs::read_to_string("/proc/uptime")
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let stored_uptime = latest(stored(&db, "system.uptime").await).expect("system.uptime stored");
    assert!(
        (uptime - stored_uptime.value).abs() < 120.0,
        "system.uptime {} vs /proc/uptime {uptime}",
        stored_uptime.value
    );
    let load = latest(stored(&db, "system.load.1").await).expect("system.load.1 stored");
    assert!(load.value >= 0.0);
    let processes = latest(stored(&db, "system.processes.count").await).expect("processes");
    assert!(
        processes.value >= 3.0,
        "expected several processes; got {}",
        processes.value
    );
    let used = latest(stored(&db, "system.mem.used").await).expect("system.mem.used stored");
    assert!(used.value > 0.0 && used.value <= expected_total);

    // Every interface of /proc/net/dev is reported, with counters no lower than the
    // kernel's value read before.
    let net_dev = std::fs::read_to_string("/proc/net/dev").unwrap();
    let interfaces: Vec<(String, f64)> = net_dev
        .lines()
        .skip(2)
        .filter_map(|l| {
            let (name, rest) = l.split_once(':')?;
            Some((
                name.trim().to_string(),
                rest.split_whitespace().next()?.parse().ok()?,
            ))
        })
        .collect();
    eventually(ARRIVAL_DEADLINE, || async {
        let points = stored(&db, "system.net.bytes_recv").await;
        for (interface, before) in &interfaces {
            let last = points
                .iter()
                .rev()
                .find(|p| p.labels.get("interface") == Some(interface));
            match last {
                Some(p) if p.value >= *before => {}
                other => return Err(format!("system.net.bytes_recv{{interface={interface}}}: expected >= {before}, got {other:?}")),
            }
        }
        Ok(())
    })
    .await;
    let tags = reader.tags("system.net.bytes_recv").await.unwrap();
    assert_eq!(
        tags.get("host"),
        Some(&vec!["agent-test-host".to_string()]),
        "tags: {tags:?}"
    );

    // The agent's own metrics arrive too.
    eventually(ARRIVAL_DEADLINE, || async {
        let sent = stored(&db, "vigil_agent_points_sent_total").await;
        match sent.last() {
            Some(p) if p.value > 0.0 => Ok(()),
            other => Err(format!(
                "expected vigil_agent_points_sent_total > 0; got {other:?}"
            )),
        }
    })
    .await;

    agent.stop().await;
    assert!(
        agent.process.log().contains("Stopped:"),
        "expected the agent's shutdown summary; log:\n{}",
        agent.process.log_tail()
    );
    if reader.has_auth() {
        assert!(
            !key.is_empty(),
            "Vigil has auth, so an ingest key was created and used"
        );
    }
    vigil.stop().await;
    db.close().await;
    isolation.remove_all().await;
    drop(dir);
}
