#!/usr/bin/env bash
# Coverage-guided fuzzing (libFuzzer) of every decoder and parser that takes bytes from
# outside: the targets of src/fuzz.rs, each for SECONDS, starting from its committed
# corpus in fuzz/corpus/<target>/. New inputs that find new coverage go to
# $FUZZ_WORK/corpus/<target> (not the committed corpus; copy the good ones by hand);
# a crash or an allocation past the ceiling stops the target and is kept in
# $FUZZ_WORK/crashes/. Prints one line per target: executions, corpus size, crashes.
#   scripts/fuzz.sh [SECONDS per target, default 60] [target ...]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SECONDS_PER_TARGET="${1:-60}"
shift || true
FUZZ_TARGET_DIR="${FUZZ_TARGET_DIR:-/var/tmp/vigil-fuzz-target}"
FUZZ_WORK="${FUZZ_WORK:-/var/tmp/vigil-fuzz}"
# libFuzzer's instrumentation, as cargo-fuzz passes it (without a sanitizer: the code
# is safe Rust, and a panic is what the targets check for).
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
# An explicit --target keeps RUSTFLAGS off the build scripts and proc macros, which
# run on the host and have no libFuzzer to link against. The fuzz crate starts from the
# workspace's lock file, so it builds the same versions the server does.
HOST=$(rustc -vV | sed -n 's/^host: //p')
[ -f fuzz/Cargo.lock ] || cp Cargo.lock fuzz/Cargo.lock
cargo build --release --manifest-path fuzz/Cargo.toml --target-dir "$FUZZ_TARGET_DIR" \
  --target "$HOST" --bin vigil-fuzz
BIN="$FUZZ_TARGET_DIR/$HOST/release/vigil-fuzz"
if [ "$#" -gt 0 ]; then TARGETS=("$@"); else mapfile -t TARGETS < <(ls fuzz/corpus); fi
mkdir -p "$FUZZ_WORK/crashes"
failed=0
for target in "${TARGETS[@]}"; do
  work="$FUZZ_WORK/corpus/$target"
  mkdir -p "$work"
  log="$FUZZ_WORK/$target.log"
  status=0
  VIGIL_FUZZ_TARGET="$target" "$BIN" "$work" "fuzz/corpus/$target" \
    -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=1024 -max_len=65536 -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$FUZZ_WORK/crashes/$target-" >"$log" 2>&1 || status=$?
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  size=$(ls "$work" | wc -l)
  crashes=$(ls "$FUZZ_WORK/crashes" | grep -c "^$target-" || true)
  echo "fuzz: $target executions=$runs seconds=$SECONDS_PER_TARGET corpus=$size crashes=$crashes exit=$status"
  if [ "$status" -ne 0 ]; then failed=1; tail -30 "$log"; fi
done
exit "$failed"
