//! The bounded fuzz run of the test suite: every target of `vigil::fuzz` on each file of
//! its committed corpus (`fuzz/corpus/<target>/`), then on a fixed number of mutations
//! of them. The long, coverage-guided runs are `scripts/fuzz.sh`. An input that panics
//! or allocates beyond the ceiling is written to the target directory and fails the test.

use std::path::{Path, PathBuf};

use vigil::fuzz::{run_bounded, MeasuredAlloc, Mutator, Target};

#[global_allocator]
static ALLOCATOR: MeasuredAlloc = MeasuredAlloc;

fn corpus(name: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(name);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    files.iter().map(|f| std::fs::read(f).unwrap()).collect()
}

fn cases() -> usize {
    std::env::var("VIGIL_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000)
}

fn keep_crash(name: &str, input: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join("vigil-fuzz-crashes");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}-{:016x}", fxhash(input)));
    std::fs::write(&path, input).unwrap();
    path
}

fn fxhash(input: &[u8]) -> u64 {
    input.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

fn run(name: &str, target: Target) {
    let inputs = corpus(name);
    assert!(
        inputs.len() >= 3,
        "corpus {name} has {} files",
        inputs.len()
    );
    let check = |input: &[u8]| {
        let outcome = std::panic::catch_unwind(|| run_bounded(target, input));
        if let Err(cause) = outcome {
            let path = keep_crash(name, input);
            let message = cause
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| cause.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            panic!("{name}: input {} failed: {message}", path.display());
        }
    };
    for input in &inputs {
        check(input);
    }
    let mut mutator = Mutator::new(fxhash(name.as_bytes()));
    let mut current = inputs[0].clone();
    for i in 0..cases() {
        // Walk: mostly mutate the last mutant, sometimes restart from the corpus, so
        // edits accumulate as well as stay close to valid inputs.
        if i % 8 == 0 {
            current = inputs[i / 8 % inputs.len()].clone();
        }
        let other = &inputs[(i * 7 + 3) % inputs.len()];
        current = mutator.mutate(&current, other);
        check(&current);
    }
    println!(
        "{name}: {} corpus files, {} mutations, no failure",
        inputs.len(),
        cases()
    );
}

macro_rules! targets {
    ($($name:ident),* $(,)?) => {$(
        #[test]
        fn $name() {
            let target = vigil::fuzz::target(stringify!($name)).expect("a target of vigil::fuzz");
            run(stringify!($name), target);
        }
    )*};
}

targets!(
    json_ingest,
    json_ingest_gzip,
    query_body,
    dashboard_import,
    alert_rule,
    line_protocol,
    remote_write,
    remote_write_proto,
    promql,
);

#[test]
fn every_target_of_the_library_is_run_here() {
    let here = [
        "json_ingest",
        "json_ingest_gzip",
        "query_body",
        "dashboard_import",
        "alert_rule",
        "line_protocol",
        "remote_write",
        "remote_write_proto",
        "promql",
    ];
    for (name, _) in vigil::fuzz::TARGETS {
        assert!(
            here.contains(name),
            "target {name} is not run by tests/fuzz.rs"
        );
    }
}
