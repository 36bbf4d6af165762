#!/usr/bin/env bash
# A short fuzzing campaign over every target, or over the targets named:
# builds the seed corpora (corpus/<target>/seed-*), builds the targets with
# debug assertions (so integer overflow panics too), then fuzzes each for
# SECONDS_PER_TARGET seconds (default 30) in one process. Prints each target's
# final figures; exits non-zero if any target crashes, hangs, runs out of
# memory or fails to build. Full logs are left in logs/<target>.log, crashing
# inputs in artifacts/<target>/.
#
# Usage: fuzz/smoke.sh [SECONDS_PER_TARGET [TARGET...]]
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-30}"
shift || true

mkdir -p logs
cargo run --quiet --example seeds -- corpus 2>logs/seeds.log || { cat logs/seeds.log >&2; exit 1; }
cargo +nightly fuzz build --debug-assertions 2>logs/build.log || { cat logs/build.log >&2; exit 1; }
if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo +nightly fuzz list)
fi

# The import target writes its scratch archive and database under TMPDIR.
export TMPDIR="$PWD/target/scratch"
mkdir -p "$TMPDIR"
failed=()
for target in "${targets[@]}"; do
    echo "== $target (${seconds}s)"
    if cargo +nightly fuzz run --debug-assertions "$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=1024 \
        -print_final_stats=1 >"logs/$target.log" 2>&1; then
        status=ok
    else
        status=FAILED
        failed+=("$target")
    fi
    grep -E '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE|INITED)' "logs/$target.log" | tail -n 1 || true
    grep -E 'stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "logs/$target.log" || true
    echo "   corpus files: $(find "corpus/$target" -type f | wc -l), $status"
    if [ "$status" = FAILED ]; then
        grep -E -A 12 '^(==[0-9]+==ERROR|thread .* panicked|INFO: Running with|SUMMARY|Test unit written)' \
            "logs/$target.log" | tail -n 40 || true
    fi
done

if [ "${#failed[@]}" -gt 0 ]; then
    echo "failed: ${failed[*]}" >&2
    exit 1
fi
echo "every target ran ${seconds}s without a crash"
