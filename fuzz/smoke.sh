#!/usr/bin/env bash
# Builds every fuzz target and runs each one for FUZZ_SECONDS seconds on its corpus
# (fuzz/corpus/<target>, seeded by fuzz/seed.sh when missing). Exits non-zero if any target
# crashes, fails an assertion, leaks, hangs (-timeout) or exceeds the memory limit; the input
# that did it is saved under fuzz/artifacts/<target>/.
#
#   fuzz/smoke.sh                              # every target, 10 s each
#   FUZZ_SECONDS=60 fuzz/smoke.sh              # a longer campaign
#   FUZZ_TARGETS="framer reassembler" fuzz/smoke.sh
#
# Environment:
#   FUZZ_SECONDS    seconds per target (default 10)
#   FUZZ_TARGETS    space-separated subset (default: every target in fuzz/Cargo.toml)
#   FUZZ_SANITIZER  address (default) or none (faster, catches panics/assertions only)
#   FUZZ_ARGS       extra libFuzzer flags, e.g. "-max_len=65536"
#   FUZZ_MALLOC_MB  largest single allocation allowed, in MiB (default 128): inputs are at most a
#                   few KiB, so anything bigger was sized from a hostile length field
#   FUZZ_LOG_DIR    where each target's libFuzzer log goes (default fuzz/target/smoke-logs)
#   CARGO_LOCK      a file the build takes an flock on, so it never overlaps other cargo builds
#                   on a shared machine (default /tmp/zkwire-cargo.lock; empty: no lock)
#
# Toolchain: cargo-fuzz needs nightly-only rustc flags (-Zsanitizer, coverage options). With a
# nightly toolchain installed (rustup toolchain install nightly) it is used; otherwise the
# default toolchain runs with RUSTC_BOOTSTRAP=1. Install cargo-fuzz with
# `cargo install cargo-fuzz --locked`.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"

secs="${FUZZ_SECONDS:-10}"
sanitizer="${FUZZ_SANITIZER:-address}"
log_dir="${FUZZ_LOG_DIR:-$here/target/smoke-logs}"
lock_file="${CARGO_LOCK-/tmp/zkwire-cargo.lock}"
read -r -a extra <<<"${FUZZ_ARGS:-}"

cargo_cmd=(cargo)
if rustup run nightly rustc --version >/dev/null 2>&1; then
    cargo_cmd=(cargo +nightly)
    rustc_cmd=(rustup run nightly rustc)
else
    export RUSTC_BOOTSTRAP=1
    rustc_cmd=(rustc)
fi
lock=()
if [[ -n "$lock_file" ]] && command -v flock >/dev/null; then
    lock=(flock "$lock_file")
fi

if [[ -n "${FUZZ_TARGETS:-}" ]]; then
    read -r -a targets <<<"$FUZZ_TARGETS"
else
    mapfile -t targets < <(sed -n 's/^name = "\([a-z0-9_]*\)"$/\1/p' "$here/Cargo.toml" | grep -v '^zkwire-fuzz$')
fi

[[ -d "$here/corpus" ]] || "$here/seed.sh"

start=$(date +%s)
echo "== building (sanitizer: $sanitizer, ${cargo_cmd[*]} fuzz build)"
# Without a target name `cargo fuzz build` builds them all in one cargo invocation.
"${lock[@]}" "${cargo_cmd[@]}" fuzz build --sanitizer "$sanitizer" 2>&1 | tail -n 3 \
    || { echo "build failed"; exit 2; }
triple="$("${rustc_cmd[@]}" -vV | sed -n 's/^host: //p')"
bin_dir="$here/target/$triple/release"

mkdir -p "$log_dir"
failed=()
printf '%-14s %12s %9s %6s %7s  %s\n' target executions exec/s cov ft result
for t in "${targets[@]}"; do
    mkdir -p "$here/corpus/$t" "$here/artifacts/$t"
    log="$log_dir/$t.log"
    rc=0
    "$bin_dir/$t" "$here/corpus/$t" \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
        -malloc_limit_mb="${FUZZ_MALLOC_MB:-128}" -print_final_stats=1 \
        -artifact_prefix="$here/artifacts/$t/" "${extra[@]}" >"$log" 2>&1 || rc=$?
    done_line="$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1 || true)"
    execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
    rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)"
    cov="$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$done_line")"
    ft="$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$done_line")"
    if [[ $rc -eq 0 ]]; then
        result=ok
    else
        result="FAILED (rc $rc, see $log)"
        failed+=("$t")
    fi
    printf '%-14s %12s %9s %6s %7s  %s\n' "$t" "${execs:--}" "${rate:--}" "${cov:--}" "${ft:--}" "$result"
done
echo "== ${#targets[@]} targets, ${secs}s each, $(( $(date +%s) - start ))s wall"
if (( ${#failed[@]} )); then
    echo "crashes in: ${failed[*]}"
    for t in "${failed[@]}"; do
        ls -1 "$here/artifacts/$t" 2>/dev/null | sed "s|^|  fuzz/artifacts/$t/|"
    done
    exit 1
fi
