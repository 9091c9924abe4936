//! libFuzzer's entry point: the target named by `VIGIL_FUZZ_TARGET`, under the
//! allocation ceiling of `vigil::fuzz`.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use vigil::fuzz::{run_bounded, MeasuredAlloc, Target};

#[global_allocator]
static ALLOCATOR: MeasuredAlloc = MeasuredAlloc;

static TARGET: OnceLock<Target> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let target = *TARGET.get_or_init(|| {
        let name = std::env::var("VIGIL_FUZZ_TARGET").expect("VIGIL_FUZZ_TARGET names a target");
        vigil::fuzz::target(&name).unwrap_or_else(|| panic!("no fuzz target {name:?}"))
    });
    run_bounded(target, data);
});
