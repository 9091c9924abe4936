//! The agent's own restart: started while Vigil is not there yet, it buffers; on
//! SIGTERM it gives up delivering at `collect.shutdown_timeout`, saves the buffer to
//! its spill directory and exits; started again once Vigil is up, it sends what the
//! previous run saved, each point once.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use crate::helpers::*;
use crate::targets::Probe;

#[actix_rt::test]
async fn a_restarted_agent_sends_what_it_saved_at_shutdown() {
    let mut isolation = Isolation::new();
    let dir = tempfile::tempdir().unwrap();
    let probe = Probe::serve();
    let port = free_port();
    let config = agent_config(
        &format!("http://127.0.0.1:{port}"),
        dir.path(),
        "1s",
        &format!(
            "[host]\nenabled = false\n\n[[scrape.targets]]\nurl = \"{}\"\njob = \"probe\"\ninterval = \"500ms\"\n",
            probe.target.url
        ),
    );
    let shutdown_timeout = Duration::from_secs(2);
    let env = [("VIGIL_AGENT__COLLECT__SHUTDOWN_TIMEOUT", "2s")];
    let mut agent = Agent::start(dir.path(), &config, &env);
    eventually(ARRIVAL_DEADLINE, || async {
        match probe.served().len() {
            n if n >= 10 => Ok(()),
            n => Err(format!("expected 10 scrapes of the probe; got {n}")),
        }
    })
    .await;

    // Vigil is unreachable, so shutdown ends at its deadline and saves the buffer.
    agent.process.terminate();
    let terminated = Instant::now();
    agent
        .process
        .wait_exit(shutdown_timeout + Duration::from_secs(10))
        .await;
    let took = terminated.elapsed();
    assert!(
        took < shutdown_timeout + Duration::from_secs(3),
        "expected the agent to exit about collect.shutdown_timeout ({shutdown_timeout:?}) after SIGTERM; took {took:?}"
    );
    let log = agent.process.log();
    assert!(
        log.contains("saved for the next start") && !log.contains(" 0 saved for the next start"),
        "expected the shutdown summary to report saved points; log:\n{}",
        agent.process.log_tail()
    );
    probe.target.kill().await;
    let served: BTreeSet<u64> = probe.served().into_iter().collect();

    let mut vigil = Vigil::start_on(port, &isolation, dir.path(), &[]).await;
    let db = database(&isolation);
    let mut agent = Agent::start(dir.path(), &config, &env);
    eventually(ARRIVAL_DEADLINE, || async {
        let points = stored(&db, "outage_probe").await;
        let values: Vec<u64> = points.iter().map(|p| p.value as u64).collect();
        let unique: BTreeSet<u64> = values.iter().copied().collect();
        assert_eq!(
            unique.len(),
            values.len(),
            "a point was stored twice: {values:?}"
        );
        // The last value may have been served to a scrape that SIGTERM cut before
        // the agent recorded it; every other one must be there.
        let last = served.iter().next_back().copied();
        let missing: Vec<u64> = served.difference(&unique).copied().collect();
        assert!(
            unique.is_subset(&served),
            "stored values the probe never served: {unique:?}"
        );
        if missing.is_empty() || (missing.len() == 1 && Some(missing[0]) == last) {
            Ok(())
        } else {
            Err(format!(
                "expected the {} values served before the shutdown; stored {}; agent log:\n{}",
                served.len(),
                unique.len(),
                agent.process.log_tail()
            ))
        }
    })
    .await;

    agent.stop().await;
    vigil.stop().await;
    db.close().await;
    isolation.remove_all().await;
}
